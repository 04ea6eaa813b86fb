from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from monitor.signals import get_signal
from monitor.signals._stats import rate_alarm_count, rate_excess_test
from monitor.signals.base import WindowSample
from monitor.signals.rates import alarm_rate


def flags(count: int, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[:count] = True
    return out


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("fallback_rate", "is_fallback"),
        ("unknown_rate", "is_unknown"),
        ("human_triage_rate", "is_human_triage"),
        ("error_rate", "is_error"),
    ],
)
def test_rate_and_one_sided_exact_test_match_scipy(name: str, field: str) -> None:
    ref_fields: dict[str, Any] = {field: flags(20, 1000)}
    cur_fields: dict[str, Any] = {field: flags(18, 300)}
    reference, current = WindowSample(**ref_fields), WindowSample(**cur_fields)
    result = get_signal(name)(reference, current)
    assert result.value == pytest.approx(18 / 300)
    assert result.details["reference_rate"] == pytest.approx(0.02)
    fisher = stats.fisher_exact([[18, 282], [20, 980]], alternative="greater").pvalue
    assert result.p_value == pytest.approx(fisher, rel=1e-9)
    assert get_signal(name).exact is not None


@pytest.mark.parametrize(
    ("k_ref", "n_ref", "k_cur", "n_cur"),
    [(20, 1000, 18, 300), (0, 2000, 8, 150), (3, 500, 3, 100), (40, 200, 5, 60)],
)
def test_exact_test_equals_scipy_fisher_and_binomtest_conditional(
    k_ref: int, n_ref: int, k_cur: int, n_cur: int
) -> None:
    p = rate_excess_test(k_ref, n_ref, k_cur, n_cur)
    table = [[k_cur, n_cur - k_cur], [k_ref, n_ref - k_ref]]
    assert p == pytest.approx(stats.fisher_exact(table, alternative="greater").pvalue, rel=1e-9)


def test_a_reference_without_events_can_still_be_exceeded() -> None:
    # 8 of 150 against 0 of 2,000: all 8 events of 2,150 trials fell in the window's 150
    assert rate_excess_test(0, 2000, 8, 150) == pytest.approx(
        math.comb(150, 8) / math.comb(2150, 8), rel=1e-9
    )
    assert rate_excess_test(0, 2000, 8, 150) < 1e-8
    # 1 of 150: the one event lands in the window with probability 150 / 2,150; 0: no evidence
    assert rate_excess_test(0, 2000, 1, 150) == pytest.approx(150 / 2150)
    assert rate_excess_test(0, 2000, 0, 150) == 1.0


def test_the_fallback_rate_of_a_knn_reference_is_not_blind() -> None:
    reference = WindowSample(is_fallback=np.zeros(2000, dtype=bool))
    falling_back = get_signal("fallback_rate")(reference, WindowSample(is_fallback=flags(8, 150)))
    one = get_signal("fallback_rate")(reference, WindowSample(is_fallback=flags(1, 150)))
    assert falling_back.p_value is not None and falling_back.p_value < 1e-8
    assert one.p_value is not None and one.p_value > 0.05


def test_alarm_count_is_the_first_count_at_or_below_alpha() -> None:
    # against 0 of 2,000, k events in 150 have p = C(150, k) / C(2150, k)
    p2, p3 = (math.comb(150, k) / math.comb(2150, k) for k in (2, 3))
    assert p3 < 1e-3 < p2
    assert rate_alarm_count(0, 2000, 150, 1e-3) == 3
    result = get_signal("fallback_rate")(
        WindowSample(is_fallback=np.zeros(2000, dtype=bool)),
        WindowSample(is_fallback=flags(3, 150)),
    )
    assert alarm_rate(result, 1e-3) == pytest.approx(3 / 150)
    assert rate_alarm_count(1000, 1000, 10, 1e-3) is None  # never above a rate of 1


@pytest.mark.parametrize("bad", [(-1, 10, 0, 10), (11, 10, 0, 10), (0, 10, 5, 4)])
def test_impossible_counts_are_a_clear_error(bad: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError, match="must be >= 0|exceed"):
        rate_excess_test(*bad)


@pytest.mark.parametrize("rate", [0.0002, 0.002, 0.02, 0.2])
def test_false_alarms_stay_at_most_nominal_under_the_null(rate: float) -> None:
    # Seeded: deterministic. 4,000 null draws per rate; the margin of 4 binomial sd at
    # alpha = 0.05 (0.014) would be crossed by chance about 3 times in 100,000 if the true
    # rate were exactly nominal; Fisher's exact test is at most nominal, by construction.
    rng = np.random.default_rng(14)
    draws = 4000
    k_ref = rng.binomial(2000, rate, size=draws)
    k_cur = rng.binomial(150, rate, size=draws)
    pairs = zip(k_ref.tolist(), k_cur.tolist(), strict=True)
    p = np.array([rate_excess_test(a, 2000, b, 150) for a, b in pairs])
    for alpha in (0.05, 0.01, 0.001):
        margin = 4 * math.sqrt(alpha * (1 - alpha) / draws)
        assert np.mean(p <= alpha) <= alpha + margin, (rate, alpha, np.mean(p <= alpha))
    if rate >= 0.02:  # enough events for the discreteness to fade: close to nominal
        assert np.mean(p <= 0.05) >= 0.02, (rate, np.mean(p <= 0.05))


def test_a_falling_rate_is_not_evidence_of_drift() -> None:
    result = get_signal("fallback_rate")(
        WindowSample(is_fallback=flags(100, 1000)), WindowSample(is_fallback=flags(1, 300))
    )
    assert result.p_value is not None and result.p_value > 0.99


def test_wilson_interval_brackets_the_rate() -> None:
    result = get_signal("unknown_rate")(
        WindowSample(is_unknown=flags(50, 1000)), WindowSample(is_unknown=flags(50, 100))
    )
    low, high = result.details["ci95"]
    assert low == pytest.approx(0.4038, abs=1e-4)
    assert high == pytest.approx(0.5962, abs=1e-4)


def test_more_fallbacks_are_detected_and_the_same_rate_is_not(make_window) -> None:
    reference = make_window(0, 5000)
    same = get_signal("fallback_rate")(reference, make_window(1, 1000))
    assert same.p_value is not None and same.p_value > 0.01
    rng = np.random.default_rng(3)
    worse = WindowSample(is_fallback=rng.random(1000) < 0.06)
    drifted = get_signal("fallback_rate")(reference, worse)
    assert drifted.p_value is not None and drifted.p_value < 1e-4
