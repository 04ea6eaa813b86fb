"""Tickets far from history: the share of current tickets with no close historical neighbour.

A current ticket is *novel* when its cosine similarity to its nearest reference ticket is below
the ``quantile`` of the same nearest-neighbour similarity within the reference (leave one out).
Under no drift about ``quantile`` of the current tickets are novel; new content raises the
share, a mere change in the mix of known topics does not. This is what lets the monitor tell
new content from a label-mix shift, and the most novel tickets are the examples an alert shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from monitor.signals._stats import subsample
from monitor.signals.base import SignalResult, WindowSample, register


def nearest_similarity(
    queries: NDArray[np.float32], base: NDArray[np.float32], *, exclude_self: bool = False
) -> NDArray[np.float32]:
    """Cosine similarity of each query to its nearest row of ``base`` (unit vectors)."""
    sims = queries @ base.T
    if exclude_self:
        np.fill_diagonal(sims, -np.inf)
    return np.asarray(sims.max(axis=1))


@register("novelty", requires=("embeddings",), min_current=50, group="novelty")
def novelty(
    reference: WindowSample,
    current: WindowSample,
    *,
    rng: np.random.Generator,
    max_reference: int = 2000,
    max_current: int = 2000,
    quantile: float = 0.05,
    n_examples: int = 10,
    **_: Any,
) -> SignalResult:
    """Share of current tickets farther from history than all but ``quantile`` of history."""
    assert reference.embeddings is not None and current.embeddings is not None
    base = subsample(reference.embeddings.astype(np.float32, copy=False), max_reference, rng)[0]
    queries, index = subsample(current.embeddings.astype(np.float32, copy=False), max_current, rng)
    cutoff = float(np.quantile(nearest_similarity(base, base, exclude_self=True), quantile))
    nearest = nearest_similarity(queries, base)
    novel = nearest < cutoff
    count = int(novel.sum())
    share = count / len(queries)
    p_value = stats.binomtest(count, len(queries), quantile, alternative="greater").pvalue
    farthest = np.argsort(nearest, kind="stable")[: min(n_examples, count)]
    return SignalResult(
        name="novelty",
        value=share,
        p_value=float(p_value),
        n_reference=reference.n,
        n_current=current.n,
        details={
            "novel_share": share,
            "expected_share": quantile,
            "similarity_cutoff": cutoff,
            "novel_count": count,
            "sampled_current": len(queries),
            "examples": [int(i) for i in index[farthest]],
            "example_similarity": [float(s) for s in nearest[farthest]],
        },
    )
