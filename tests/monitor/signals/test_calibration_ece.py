from __future__ import annotations

import numpy as np
import pytest

from monitor.signals import get_signal
from monitor.signals.base import WindowSample
from monitor.signals.calibration_ece import expected_calibration_error


def test_ece_by_hand_on_two_bins() -> None:
    confidence = np.array([0.95, 0.95, 0.95, 0.95, 0.55, 0.55])
    correct = np.array([True, True, True, False, True, False])
    # bin of 0.95: accuracy 0.75, gap 0.2, share 4/6; bin of 0.55: accuracy 0.5, gap 0.05, share 2/6
    expected = 4 / 6 * 0.2 + 2 / 6 * 0.05
    assert expected_calibration_error(confidence, correct, n_bins=10) == pytest.approx(expected)


def test_confidence_of_one_falls_in_the_last_bin() -> None:
    assert expected_calibration_error(np.array([1.0]), np.array([True])) == pytest.approx(0.0)


def test_calibrated_decisions_have_small_ece_and_overconfident_ones_large() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.3, 1.0, 20000)
    calibrated = rng.random(20000) < confidence
    assert expected_calibration_error(confidence, calibrated) < 0.02
    overconfident = rng.random(20000) < confidence - 0.2
    assert expected_calibration_error(confidence, overconfident) == pytest.approx(0.2, abs=0.02)


def test_signal_uses_labelled_decisions_and_top_probability() -> None:
    probs = np.tile([[0.9, 0.1]], (60, 1))
    truth = np.r_[np.zeros(30, int), np.ones(15, int), np.full(15, -1)]
    window = WindowSample(queue_probs=probs, true_label=truth)
    result = get_signal("calibration_ece")(window, window)
    assert result.details["labelled"] == 45
    assert result.value == pytest.approx(abs(30 / 45 - 0.9))


def test_too_few_labels_are_insufficient() -> None:
    window = WindowSample(queue_probs=np.tile([[0.9, 0.1]], (60, 1)), true_label=np.full(60, -1))
    assert get_signal("calibration_ece")(window, window).insufficient


def test_confidently_wrong_agent_raises_ece(make_window) -> None:
    reference = make_window(0, 3000)
    same = get_signal("calibration_ece")(reference, make_window(1, 2000))
    shifted = get_signal("calibration_ece")(reference, make_window(2, 2000, new_share=0.3))
    assert shifted.value > same.value + 0.1
