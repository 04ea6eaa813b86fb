"""Operations: latency percentiles, cost, tokens (signal ``ops``) and the error rate."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from monitor.signals.base import SignalResult, WindowSample, register
from monitor.signals.rates import alarm_rate, rate_result


def latency_summary(latency_ms: NDArray[np.floating[Any]]) -> dict[str, float]:
    p50, p95, p99 = np.quantile(latency_ms, [0.5, 0.95, 0.99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99)}


def spend_summary(window: WindowSample) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in ("cost_usd", "tokens"):
        values = getattr(window, name)
        if values is not None:
            out[f"{name}_mean"] = float(np.mean(values))
            out[f"{name}_sum"] = float(np.sum(values))
    if window.is_error is not None:
        out["error_rate"] = float(np.mean(window.is_error))
    return out


@register("ops", requires=("latency_ms",), group="ops", level=True)
def ops(
    reference: WindowSample, current: WindowSample, *, rng: np.random.Generator, **_: Any
) -> SignalResult:
    """p95 latency of the current window; one-sided Mann-Whitney p-value that it got slower."""
    assert reference.latency_ms is not None and current.latency_ms is not None
    current_latency = latency_summary(current.latency_ms)
    test = stats.mannwhitneyu(current.latency_ms, reference.latency_ms, alternative="greater")
    reference_details = latency_summary(reference.latency_ms) | spend_summary(reference)
    return SignalResult(
        name="ops",
        value=current_latency["p95_ms"],
        p_value=float(test.pvalue),
        n_reference=reference.n,
        n_current=current.n,
        details=current_latency | spend_summary(current) | {"reference": reference_details},
    )


@register("error_rate", requires=("is_error",), group="ops", exact=alarm_rate)
def error_rate(
    reference: WindowSample, current: WindowSample, *, rng: np.random.Generator, **_: Any
) -> SignalResult:
    """Share of decisions whose model call failed."""
    assert reference.is_error is not None and current.is_error is not None
    return rate_result("error_rate", reference.is_error, current.is_error)
