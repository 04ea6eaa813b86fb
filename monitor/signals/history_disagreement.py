"""Disagreement with history: the agent's route vs the kNN consensus of past outcomes.

Label-free: the consensus is the class the nearest historical tickets with known final routes
vote for. A rising share of disagreement says the agent changed, or its inputs moved where
history no longer answers. Tickets without a consensus (-1) are left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.signals.base import SignalResult, WindowSample, insufficient, register
from monitor.signals.rates import rate_result

MIN_WITH_CONSENSUS = 30


@register(
    "history_disagreement",
    requires=("predicted", "knn_consensus"),
    group="disagreement",
    level=True,
)
def history_disagreement(
    reference: WindowSample, current: WindowSample, *, rng: np.random.Generator, **_: Any
) -> SignalResult:
    """Share of current tickets whose predicted class differs from the kNN consensus."""
    flags = []
    for window in (reference, current):
        assert window.predicted is not None and window.knn_consensus is not None
        known = window.knn_consensus >= 0
        flags.append(window.predicted[known] != window.knn_consensus[known])
    if min(len(f) for f in flags) < MIN_WITH_CONSENSUS:
        return insufficient(
            "history_disagreement", reference, current, "too few tickets with a consensus"
        )
    result = rate_result("history_disagreement", flags[0], flags[1])
    result.n_reference, result.n_current = reference.n, current.n
    result.details["with_consensus"] = len(flags[1])
    return result
