"""Entropy of the class probabilities: an agent that grows unsure, or suddenly overconfident."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from monitor.signals._stats import normalised_entropy
from monitor.signals.base import SignalResult, WindowSample, register


@register(
    "entropy", requires=("queue_probs",), direction="two_sided", group="confidence", level=True
)
def entropy(
    reference: WindowSample, current: WindowSample, *, rng: np.random.Generator, **_: Any
) -> SignalResult:
    """Mean of H(p)/log K over the current window (p90 in details); Welch t-test vs reference."""
    assert reference.queue_probs is not None and current.queue_probs is not None
    h_ref = normalised_entropy(reference.queue_probs)
    h_cur = normalised_entropy(current.queue_probs)
    test = stats.ttest_ind(h_cur, h_ref, equal_var=False)
    p_value = float(test.pvalue) if np.isfinite(test.pvalue) else 1.0
    return SignalResult(
        name="entropy",
        value=float(h_cur.mean()),
        p_value=p_value,
        n_reference=reference.n,
        n_current=current.n,
        details={
            "mean": float(h_cur.mean()),
            "p90": float(np.quantile(h_cur, 0.9)),
            "reference_mean": float(h_ref.mean()),
            "reference_p90": float(np.quantile(h_ref, 0.9)),
        },
    )
