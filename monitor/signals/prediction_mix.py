"""Prediction-mix shift on class probabilities: per-class two-sample KS with Bonferroni.

This is black-box shift detection (BBSD) with KS, the strongest detector in Rabanser et al.,
"Failing Loudly" (2019). The value is the largest KS statistic over the classes: an effect size
that grows with the shift and does not saturate the way a p-value does on large windows. The
p-value is the smallest per-class p-value times K (Bonferroni), capped at 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from monitor.signals.base import SignalResult, WindowSample, insufficient, register

EXACT_KS_MAX_N = 1000  # above this SciPy's exact KS is slow; the asymptotic one is accurate


@register("prediction_mix", requires=("queue_probs",), group="label_mix")
def prediction_mix(
    reference: WindowSample, current: WindowSample, *, rng: np.random.Generator, **_: Any
) -> SignalResult:
    """Largest per-class KS statistic on class probabilities; Bonferroni-adjusted p-value."""
    assert reference.queue_probs is not None and current.queue_probs is not None
    k = reference.queue_probs.shape[1]
    if current.queue_probs.shape[1] != k:
        return insufficient("prediction_mix", reference, current, "different numbers of classes")
    method = "asymp" if max(reference.n, current.n) > EXACT_KS_MAX_N else "auto"
    ks = [
        stats.ks_2samp(reference.queue_probs[:, c], current.queue_probs[:, c], method=method)
        for c in range(k)
    ]
    statistics = np.array([float(r.statistic) for r in ks])
    p_values = np.array([float(r.pvalue) for r in ks])
    worst = int(np.argmax(statistics))
    mean_shift = current.queue_probs.mean(axis=0) - reference.queue_probs.mean(axis=0)
    return SignalResult(
        name="prediction_mix",
        value=float(statistics[worst]),
        p_value=float(min(1.0, k * p_values.min())),
        n_reference=reference.n,
        n_current=current.n,
        details={
            "max_ks": float(statistics[worst]),
            "max_ks_class": worst,
            "ks": statistics.tolist(),
            "p_values": p_values.tolist(),
            "mean_prob_shift": mean_shift.tolist(),
        },
    )
