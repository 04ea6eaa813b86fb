"""Fitting what a version needs to abstain: the novelty gate and the confidence threshold.

Pure functions over held-out history (each ticket with its neighbours, itself left out), so
the fit is testable without a database; ``agent.services.calibration`` draws the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.classify.base import Classification
from agent.classify.knn import KnnParams, knn_probabilities
from agent.classify.knn_fit import HeldOut
from agent.classify.novelty import DEFAULT_ALPHA, DEFAULT_SCORE, NoveltyGate, fit_gate
from agent.classify.novelty import leave_one_out as without_copies
from agent.classify.selective import SelectiveFit, fit_target_accuracy, fit_target_escalation
from agent.taxonomy import UNKNOWN, Taxonomy


@dataclass(frozen=True)
class RoutingTarget:
    """How the confidence threshold is chosen: fitted to a target, or set by hand."""

    target_accuracy: float | None = None
    target_escalation: float | None = None
    min_confidence: float | None = None

    def __post_init__(self) -> None:
        given = [
            x is not None
            for x in (self.target_accuracy, self.target_escalation, self.min_confidence)
        ]
        if sum(given) > 1:
            raise ValueError(
                "choose one of target accuracy, target escalation or a manual min confidence"
            )

    @property
    def fitted(self) -> bool:
        return self.target_accuracy is not None or self.target_escalation is not None


@dataclass(frozen=True)
class HeldOutRoute:
    """What the version would do with one held-out ticket."""

    confidence: float
    correct: bool
    escalated: bool  # novel (or ``unknown``): to humans whatever the threshold


@dataclass
class AbstentionFit:
    gate: NoveltyGate
    selective: SelectiveFit | None
    warnings: list[str] = field(default_factory=list)

    def thresholds(self, min_confidence: float) -> dict[str, Any]:
        """The version's ``thresholds``: the gate, and the fitted or manual confidence."""
        out: dict[str, Any] = {"novelty": self.gate.to_thresholds()}
        if self.selective is not None:
            out["min_confidence"] = self.selective.min_confidence
            out["selective"] = self.selective.to_thresholds()
        else:
            out["min_confidence"] = min_confidence
        return out


def gate_for(
    cases: Sequence[HeldOut],
    taxonomy: Taxonomy,
    *,
    params: KnnParams,
    alpha: float = DEFAULT_ALPHA,
    score: str = DEFAULT_SCORE,
) -> tuple[NoveltyGate, list[str]]:
    """The novelty gate fitted on held-out history, and warnings naming what it lacks."""
    gate = fit_gate(
        [(c.queue, c.neighbours) for c in cases],
        taxonomy_queues=taxonomy.queue_names,
        score=score,
        k=params.k,
        tau=params.tau,
        alpha=alpha,
    )
    warnings = [f"novelty gate uncalibrated: needs {m}" for m in gate.missing]
    return gate, warnings


def route_held_out(
    case: HeldOut, classification: Classification, gate: NoveltyGate
) -> HeldOutRoute:
    """One held-out ticket's route under the gate, from its classification."""
    novel = gate.judge(without_copies(case.neighbours)).novel
    queue = classification.queue
    return HeldOutRoute(
        confidence=classification.queue_probs[queue],
        correct=queue == case.queue,
        escalated=novel or queue == UNKNOWN or classification.error is not None,
    )


def knn_held_out_routes(
    cases: Sequence[HeldOut], taxonomy: Taxonomy, *, params: KnnParams, gate: NoveltyGate
) -> list[HeldOutRoute]:
    """Every held-out ticket routed by the knn vote with the gate's ``unknown`` mass."""
    routes = []
    for case in cases:
        near = without_copies(case.neighbours)
        novelty = gate.judge(near)
        queue_probs, prio_probs = knn_probabilities(near, taxonomy, params, novelty.unknown)
        classification = Classification("knn", queue_probs, prio_probs)
        routes.append(route_held_out(case, classification, gate))
    return routes


def fit_threshold(routes: Sequence[HeldOutRoute], target: RoutingTarget) -> SelectiveFit | None:
    """The fitted confidence threshold (None when the target is manual)."""
    if not target.fitted:
        return None
    confidence = [r.confidence for r in routes]
    correct = [r.correct for r in routes]
    escalated = [r.escalated for r in routes]
    if target.target_accuracy is not None:
        return fit_target_accuracy(
            confidence=confidence,
            correct=correct,
            escalated=escalated,
            target=target.target_accuracy,
        )
    assert target.target_escalation is not None
    return fit_target_escalation(
        confidence=confidence, correct=correct, escalated=escalated, target=target.target_escalation
    )
