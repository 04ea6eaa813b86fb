from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.signals import all_signals, get_signal
from monitor.signals.base import WindowSample

BUILTIN = {
    "entropy",
    "fallback_rate",
    "unknown_rate",
    "human_triage_rate",
    "embedding_mmd",
    "embedding_classifier",
    "novelty",
    "prediction_mix",
    "predicted_label_chi2",
    "history_disagreement",
    "human_override_rate",
    "calibration_ece",
    "label_accuracy",
    "ops",
    "error_rate",
}


def test_window_sample_reports_length_and_classes() -> None:
    window = WindowSample(queue_probs=np.full((4, 3), 1 / 3), predicted=np.array([0, 1, 2, 0]))
    assert (window.n, window.k) == (4, 3)
    assert WindowSample(predicted=np.array([0, 4])).k == 5
    assert WindowSample().n == 0


def test_window_sample_rejects_arrays_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        WindowSample(predicted=np.array([0, 1]), is_error=np.array([True]))


def test_take_keeps_the_number_of_classes() -> None:
    window = WindowSample(predicted=np.array([0, 5, 1]))
    sub = window.take(np.array([0, 2]))
    assert sub.n == 2
    assert sub.k == 6
    assert sub.predicted is not None and sub.predicted.tolist() == [0, 1]


def test_every_builtin_signal_is_registered() -> None:
    assert BUILTIN <= set(all_signals())
    assert get_signal("entropy").direction == "two_sided"


def test_unknown_signal_name_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="no signal named"):
        get_signal("no_such_signal")


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_missing_fields_give_an_insufficient_result_not_an_error(name: str) -> None:
    empty = WindowSample(latency_ms=None, predicted=None)
    result = get_signal(name)(empty, empty)
    assert result.insufficient
    assert math.isnan(result.value)
    assert result.p_value is None


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_tiny_current_window_is_insufficient(name: str, make_window) -> None:
    reference = make_window(0, 2000)
    current = make_window(1, 5)
    result = get_signal(name)(reference, current)
    assert result.insufficient
    assert math.isnan(result.value)
    assert result.details["reason"]


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_same_seed_gives_the_same_result(name: str, make_window) -> None:
    reference, current = make_window(0, 600), make_window(1, 600)
    first = get_signal(name)(reference, current, rng=7)
    second = get_signal(name)(reference, current, rng=7)
    assert first.value == second.value
    assert first.p_value == second.p_value
