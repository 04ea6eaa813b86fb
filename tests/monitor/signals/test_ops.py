from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from monitor.signals import get_signal
from monitor.signals.base import WindowSample


def test_latency_percentiles_cost_tokens_and_errors() -> None:
    rng = np.random.default_rng(0)
    ref_latency, cur_latency = rng.lognormal(5, 0.5, 300), rng.lognormal(5.2, 0.5, 200)
    cost, tokens = rng.random(200), rng.integers(10, 100, 200).astype(float)
    errors = np.arange(200) < 4
    reference = WindowSample(latency_ms=ref_latency)
    current = WindowSample(latency_ms=cur_latency, cost_usd=cost, tokens=tokens, is_error=errors)
    result = get_signal("ops")(reference, current)
    p50, p95, p99 = np.quantile(cur_latency, [0.5, 0.95, 0.99])
    assert result.value == pytest.approx(p95)
    assert result.details["p50_ms"] == pytest.approx(p50)
    assert result.details["p99_ms"] == pytest.approx(p99)
    assert result.details["cost_usd_sum"] == pytest.approx(cost.sum())
    assert result.details["tokens_mean"] == pytest.approx(tokens.mean())
    assert result.details["error_rate"] == pytest.approx(0.02)
    expected = stats.mannwhitneyu(cur_latency, ref_latency, alternative="greater").pvalue
    assert result.p_value == pytest.approx(expected)


def test_slower_agent_is_detected_and_the_same_one_is_not(make_window) -> None:
    reference = make_window(0, 3000)
    same = get_signal("ops")(reference, make_window(1, 500))
    assert same.p_value is not None and same.p_value > 0.01
    slow = get_signal("ops")(reference, make_window(2, 500, latency_scale=1.3))
    assert slow.value > same.value
    assert slow.p_value is not None and slow.p_value < 1e-6
