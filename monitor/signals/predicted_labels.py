"""Prediction-mix shift on predicted labels: chi-squared on the 2 x K table of counts.

Classes expected fewer than ``min_expected`` times in either window are pooled into one
column (and dropped if even the pool is that sparse), so the chi-squared approximation holds.
The value is Cramer's V, sqrt(chi2 / N): an effect size in [0, 1].
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from monitor.signals.base import SignalResult, WindowSample, register


def pooled_table(
    counts: NDArray[np.int64], min_expected: float
) -> tuple[NDArray[np.int64], list[int]]:
    """The 2 x K table with sparse columns pooled; also which classes were pooled."""
    counts = counts[:, counts.sum(axis=0) > 0]
    expected = counts.sum(axis=1)[:, None] * counts.sum(axis=0)[None, :] / counts.sum()
    sparse = expected.min(axis=0) < min_expected
    table = counts[:, ~sparse]
    if sparse.any():
        pool = counts[:, sparse].sum(axis=1, keepdims=True)
        pool_expected = counts.sum(axis=1) * pool.sum() / counts.sum()
        if pool_expected.min() >= min_expected:
            table = np.hstack([table, pool])
    return table, [int(i) for i in np.flatnonzero(sparse)]


@register("predicted_label_chi2", requires=("predicted",), group="label_mix")
def predicted_label_chi2(
    reference: WindowSample,
    current: WindowSample,
    *,
    rng: np.random.Generator,
    min_expected: float = 5.0,
    **_: Any,
) -> SignalResult:
    """Cramer's V of predicted-label counts, reference vs current, with a chi-squared p-value."""
    assert reference.predicted is not None and current.predicted is not None
    k = max(
        reference.k, current.k, int(reference.predicted.max()) + 1, int(current.predicted.max()) + 1
    )
    counts = np.vstack(
        [np.bincount(reference.predicted, minlength=k), np.bincount(current.predicted, minlength=k)]
    ).astype(np.int64)
    present = np.flatnonzero(counts.sum(axis=0) > 0)
    table, pooled_columns = pooled_table(counts, min_expected)
    chi2, p_value, dof = 0.0, 1.0, 0
    if table.shape[1] >= 2:
        result = stats.chi2_contingency(table, correction=False)
        chi2, p_value, dof = float(result.statistic), float(result.pvalue), int(result.dof)
    shares = counts / counts.sum(axis=1, keepdims=True)
    moved = np.argsort(-np.abs(shares[1] - shares[0]))[: min(5, k)]
    return SignalResult(
        name="predicted_label_chi2",
        value=math.sqrt(chi2 / table.sum()) if table.size else 0.0,
        p_value=p_value,
        n_reference=reference.n,
        n_current=current.n,
        details={
            "chi2": chi2,
            "dof": dof,
            "pooled_classes": [int(present[i]) for i in pooled_columns],
            "top_moved": [
                {
                    "class": int(c),
                    "reference_share": float(shares[0, c]),
                    "current_share": float(shares[1, c]),
                }
                for c in moved
            ],
        },
    )
