from __future__ import annotations

import numpy as np
import pytest

from monitor.signals import get_signal
from monitor.signals.base import WindowSample
from monitor.signals.human_override import hajek_rate


def test_hajek_rate_weights_by_inverse_inclusion_probability() -> None:
    overridden = np.array([True, False, False, True])
    prob = np.array([0.5, 0.5, 0.1, 1.0])  # weights 2, 2, 10, 1
    rate, variance, n_eff = hajek_rate(overridden, prob)
    assert rate == pytest.approx(3 / 15)
    w, y = np.array([2, 2, 10, 1.0]), overridden.astype(float)
    assert variance == pytest.approx((w**2 * (y - 0.2) ** 2).sum() / 15**2)
    assert n_eff == pytest.approx(15**2 / 109)


def test_uniform_sampling_gives_the_plain_override_share() -> None:
    overridden = np.arange(200) < 30
    rate, _, n_eff = hajek_rate(overridden, np.full(200, 0.2))
    assert rate == pytest.approx(0.15)
    assert n_eff == pytest.approx(200)


def review_window(n: int, reviewed: int, overridden: int, prob: float) -> WindowSample:
    rev = np.arange(n) < reviewed
    return WindowSample(
        reviewed=rev,
        overridden=np.arange(n) < overridden,
        inclusion_prob=np.full(n, prob),
    )


def test_value_interval_and_test_on_reviewed_decisions_only() -> None:
    reference = review_window(1000, 100, 10, 0.1)
    current = review_window(500, 100, 50, 0.2)
    result = get_signal("human_override_rate")(reference, current)
    assert result.value == pytest.approx(0.5)
    assert result.details["reviewed"] == 100
    assert result.details["ci95"] == pytest.approx([0.4038, 0.5962], abs=1e-4)
    assert result.details["horvitz_thompson_overrides"] == pytest.approx(250)
    assert result.p_value is not None and result.p_value < 1e-9


def test_few_reviews_are_insufficient() -> None:
    result = get_signal("human_override_rate")(
        review_window(1000, 100, 10, 0.1), review_window(1000, 5, 1, 0.1)
    )
    assert result.insufficient


def test_inclusion_probability_defaults_to_one() -> None:
    window = WindowSample(reviewed=np.ones(40, bool), overridden=np.arange(40) < 10)
    assert get_signal("human_override_rate")(window, window).value == pytest.approx(0.25)


def test_more_overrides_are_detected_and_the_same_agent_is_not(make_window) -> None:
    reference = make_window(0, 5000)
    same = get_signal("human_override_rate")(reference, make_window(1, 3000))
    assert same.p_value is not None and same.p_value > 0.01
    shifted = get_signal("human_override_rate")(reference, make_window(2, 3000, new_share=0.2))
    assert shifted.value > same.value
    assert shifted.p_value is not None and shifted.p_value < 1e-3
