"""Disagreement with history: the agent's route vs the kNN consensus of past outcomes.

Label-free: the consensus is the class the nearest historical tickets with known final routes
vote for. Among the tickets the agent routed to a queue (not ``unknown``) and that have a
consensus, a rising share of disagreement says the agent changed, or its inputs moved where
history no longer answers.

Tickets predicted ``unknown`` are left out: counting them as disagreement made the signal, for
a ``knn`` version (whose route *is* the history's vote unless it says ``unknown``), the share of
``unknown`` predictions again, a duplicate of ``unknown_rate``. Without them it measures, for an
``llm`` or ``cascade`` version, routes that overrule history; for a ``knn`` version it is zero
by construction, and the exact test it shares with the rates (p = 1 at zero) keeps it silent
until the version's routes stop following the vote (a retrieval or classifier regression).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.signals.base import SignalResult, WindowSample, insufficient, register
from monitor.signals.rates import alarm_rate, rate_result

MIN_WITH_CONSENSUS = 30


@register(
    "history_disagreement",
    requires=("predicted", "knn_consensus", "is_unknown"),
    group="disagreement",
    exact=alarm_rate,
)
def history_disagreement(
    reference: WindowSample, current: WindowSample, *, rng: np.random.Generator, **_: Any
) -> SignalResult:
    """Share of routed current tickets whose predicted class differs from the kNN consensus."""
    flags = []
    for window in (reference, current):
        assert window.predicted is not None and window.knn_consensus is not None
        assert window.is_unknown is not None
        routed = (window.knn_consensus >= 0) & ~window.is_unknown
        flags.append(window.predicted[routed] != window.knn_consensus[routed])
    if min(len(f) for f in flags) < MIN_WITH_CONSENSUS:
        return insufficient(
            "history_disagreement", reference, current, "too few routed tickets with a consensus"
        )
    result = rate_result("history_disagreement", flags[0], flags[1])
    result.n_reference, result.n_current = reference.n, current.n
    result.details["with_consensus"] = len(flags[1])
    return result
