"""Disagreement with humans: the override rate among reviewed decisions.

Reviews are sampled, and not uniformly (low-confidence decisions are reviewed more often, some
reviews are forced), so the raw share of overrides among reviewed decisions is biased. Each
reviewed decision is weighted by 1 / inclusion_prob (Horvitz-Thompson), and the rate is the
Hajek ratio sum(w * overridden) / sum(w). Its variance is the linearisation
sum(w^2 (y - r)^2) / sum(w)^2; the confidence interval is Wilson's on Kish's effective sample
size (sum w)^2 / sum(w^2). The p-value is a one-sided z-test of current vs reference rate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from monitor.signals._stats import wilson_interval
from monitor.signals.base import SignalResult, WindowSample, insufficient, register


def hajek_rate(
    overridden: NDArray[np.bool_], inclusion_prob: NDArray[np.floating[Any]]
) -> tuple[float, float, float]:
    """Weighted override rate, its linearised variance, and the effective sample size."""
    weights = 1.0 / np.asarray(inclusion_prob, dtype=np.float64)
    y = overridden.astype(np.float64)
    total = weights.sum()
    rate = float((weights * y).sum() / total)
    variance = float((weights**2 * (y - rate) ** 2).sum() / total**2)
    n_effective = float(total**2 / (weights**2).sum())
    return rate, variance, n_effective


def reviewed_sample(window: WindowSample) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Override flags and inclusion probabilities of the reviewed decisions."""
    assert window.reviewed is not None and window.overridden is not None
    mask = window.reviewed.astype(bool)
    probs = np.ones(window.n) if window.inclusion_prob is None else window.inclusion_prob
    return window.overridden[mask].astype(bool), np.asarray(probs, dtype=np.float64)[mask]


@register(
    "human_override_rate",
    requires=("reviewed", "overridden"),
    min_current=1,
    group="disagreement",
    level=True,
)
def human_override_rate(
    reference: WindowSample,
    current: WindowSample,
    *,
    rng: np.random.Generator,
    min_reviewed: int = 20,
    **_: Any,
) -> SignalResult:
    """Estimated override rate of all decisions in the window, from the reviewed sample."""
    ref_y, ref_pi = reviewed_sample(reference)
    cur_y, cur_pi = reviewed_sample(current)
    if min(len(ref_y), len(cur_y)) < min_reviewed:
        return insufficient(
            "human_override_rate", reference, current, f"fewer than {min_reviewed} reviewed"
        )
    ref_rate, ref_var = hajek_rate(ref_y, ref_pi)[:2]
    rate, variance, n_effective = hajek_rate(cur_y, cur_pi)
    se = math.sqrt(ref_var + variance)
    diff = rate - ref_rate
    p_value = float(stats.norm.sf(diff / se)) if se > 0 else (0.0 if diff > 0 else 1.0)
    low, high = wilson_interval(rate, n_effective)
    return SignalResult(
        name="human_override_rate",
        value=rate,
        p_value=p_value,
        n_reference=reference.n,
        n_current=current.n,
        details={
            "rate": rate,
            "ci95": [low, high],
            "reviewed": len(cur_y),
            "overridden": int(cur_y.sum()),
            "effective_n": n_effective,
            "horvitz_thompson_overrides": float((cur_y / cur_pi).sum()),
            "reference_rate": ref_rate,
            "reference_reviewed": len(ref_y),
        },
    )
