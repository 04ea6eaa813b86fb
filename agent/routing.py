"""Pure routing rules: what the decision is (which kill switch applies: :mod:`agent.switches`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TypedDict

from agent.budgets import BudgetLevel, BudgetStatus
from agent.classify.base import Classification, Neighbour
from agent.classify.knn import consensus
from agent.classify.novelty import Novelty
from agent.graph.state import DecisionDraft, ResolvedVersion, TicketInput
from agent.switches import tripped_by_prediction
from agent.taxonomy import HUMAN_TRIAGE, UNKNOWN

DEFAULT_MIN_CONFIDENCE = 0.5
DEFAULT_MIN_PRIORITY_CONFIDENCE = 0.4
DEFAULT_TAU = 0.05


def entropy(probs: dict[str, float]) -> float:
    """Shannon entropy in nats."""
    return -sum(p * math.log(p) for p in probs.values() if p > 0)


def margin(probs: dict[str, float]) -> float:
    top = sorted(probs.values(), reverse=True)
    return top[0] - (top[1] if len(top) > 1 else 0.0)


class Stats(TypedDict):
    confidence: float
    margin: float
    entropy: float
    knn_agreement: float | None
    knn_consensus: str | None


def human(
    mode: str,
    reason: str,
    *,
    queue: str | None = None,
    priority: str | None = None,
    stats: Stats | None = None,
) -> DecisionDraft:
    """A decision that hands the ticket to human triage (keeping what was predicted, if any)."""
    draft = DecisionDraft(
        routed_to=HUMAN_TRIAGE,
        mode=mode,
        queue=queue,
        priority=priority,
        needs_review=True,
        reason=reason,
        inclusion_prob=1.0,
        sampled_for_review=True,
    )
    return dataclasses.replace(draft, **stats) if stats else draft


def decide(
    *,
    ticket: TicketInput,
    enabled: frozenset[str],
    switch: str | None,
    version: ResolvedVersion | None,
    budget: BudgetStatus | None = None,
    novelty: Novelty | None = None,
    classification: Classification | None,
    neighbours: Sequence[Neighbour],
    failure: str | None,
    sample_rate: float,
    draw: float,
) -> DecisionDraft:
    """The routing decision. ``draw`` is a uniform [0, 1) number for review sampling."""
    if switch:
        return human("kill_switch", f"kill switch '{switch}' is on")
    if budget is not None and budget.level is BudgetLevel.EXHAUSTED:
        return human("budget", _budget_reason(budget))
    if version is None:
        return human("no_version", failure or "no agent version is labelled production")
    if failure:
        return human("fallback", failure)
    if novelty is not None and novelty.novel:
        return _novel(novelty, classification, neighbours, version)
    if classification is None:
        return human("fallback", "no classification")
    if classification.error:
        return human("fallback", f"{classification.classifier}: {classification.error}")
    tau = float(version.params.get("tau", DEFAULT_TAU))
    stats = _stats(classification, neighbours, tau)
    queue, priority = classification.queue, classification.priority
    segment_switch = tripped_by_prediction(enabled, queue=queue, priority=priority)
    if segment_switch:
        return human(
            "kill_switch",
            f"kill switch '{segment_switch}' is on",
            queue=queue,
            priority=priority,
            stats=stats,
        )
    if queue == UNKNOWN:
        return human(
            "unknown",
            "the classifier does not recognise this ticket",
            queue=queue,
            priority=priority,
            stats=stats,
        )
    min_conf = float(version.thresholds.get("min_confidence", DEFAULT_MIN_CONFIDENCE))
    if stats["confidence"] < min_conf:
        return human(
            "low_confidence",
            f"confidence {stats['confidence']:.2f} is below {min_conf:.2f}",
            queue=queue,
            priority=priority,
            stats=stats,
        )
    prio_conf = classification.priority_probs[priority]
    min_prio = float(
        version.thresholds.get("min_priority_confidence", DEFAULT_MIN_PRIORITY_CONFIDENCE)
    )
    needs_review = prio_conf < min_prio
    sampled = needs_review or draw < sample_rate
    return DecisionDraft(
        routed_to=queue,
        mode="agent",
        queue=queue,
        priority=priority,
        needs_review=needs_review,
        reason=f"priority confidence {prio_conf:.2f} is below {min_prio:.2f}"
        if needs_review
        else None,
        sampled_for_review=sampled,
        inclusion_prob=1.0 if needs_review else sample_rate,
        **stats,
    )


def _novel(
    novelty: Novelty,
    classification: Classification | None,
    neighbours: Sequence[Neighbour],
    version: ResolvedVersion,
) -> DecisionDraft:
    """Human triage for a ticket unlike the history; what the vote said is kept for review."""
    reason = novelty.reason or "unlike the history"
    if classification is None or classification.error:
        return human("novel", reason, queue=UNKNOWN)
    stats = _stats(classification, neighbours, float(version.params.get("tau", DEFAULT_TAU)))
    return human(
        "novel",
        reason,
        queue=classification.queue,
        priority=classification.priority,
        stats=stats,
    )


def _stats(c: Classification, neighbours: Sequence[Neighbour], tau: float) -> Stats:
    knn_queue, _ = consensus(neighbours, tau)
    agreement = (
        sum(n.queue == c.queue for n in neighbours) / len(neighbours) if neighbours else None
    )
    return Stats(
        confidence=c.queue_probs[c.queue],
        margin=margin(c.queue_probs),
        entropy=entropy(c.queue_probs),
        knn_agreement=agreement,
        knn_consensus=knn_queue,
    )


def _budget_reason(budget: BudgetStatus) -> str:
    spent, cap = budget.spent_usd, budget.budget_usd or 0.0
    if spent >= cap:
        return f"the tenant's monthly model budget is spent ({spent:.2f} of {cap:.2f} USD)"
    return (
        f"the tenant's monthly model budget cannot cover this model call ({spent:.4f} of "
        f"{cap:.4f} USD spent or held by calls in flight)"
    )
