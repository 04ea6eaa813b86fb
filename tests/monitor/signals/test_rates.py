from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

from monitor.signals import get_signal
from monitor.signals.base import WindowSample


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
def test_rate_and_one_sided_test_match_the_chi_squared_2x2(name: str, field: str) -> None:
    ref_fields: dict[str, Any] = {field: flags(20, 1000)}
    cur_fields: dict[str, Any] = {field: flags(18, 300)}
    reference, current = WindowSample(**ref_fields), WindowSample(**cur_fields)
    result = get_signal(name)(reference, current)
    assert result.value == pytest.approx(18 / 300)
    assert result.details["reference_rate"] == pytest.approx(0.02)
    table = [[20, 980], [18, 282]]
    two_sided = stats.chi2_contingency(table, correction=False).pvalue
    assert result.p_value == pytest.approx(two_sided / 2)


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
