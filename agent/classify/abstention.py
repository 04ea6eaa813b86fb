"""Fitting what a version needs to abstain: the novelty gate and the confidence threshold.

Pure functions over held-out history (each ticket with its neighbours, itself left out), so
the fit is testable without a database; ``agent.services.calibration`` draws the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.cluster.vq import kmeans2

from agent.classify.base import Classification, Neighbour
from agent.classify.knn import KnnParams, knn_probabilities
from agent.classify.knn_fit import HeldOut
from agent.classify.novelty import (
    DEFAULT_ALPHA,
    DEFAULT_SCORE,
    DEFAULT_TAU,
    DUPLICATE_DISTANCE,
    LearnedScore,
    NoveltyGate,
    fit_gate,
    fit_learned_score,
)
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
    score_fallback: str | None = None  # why the learned score was not fitted

    def thresholds(self, min_confidence: float) -> dict[str, Any]:
        """The version's ``thresholds``: the gate, and the fitted or manual confidence."""
        out: dict[str, Any] = {"novelty": self.gate.to_thresholds()}
        if self.score_fallback is not None:
            out["novelty"]["score_fallback"] = self.score_fallback
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
    model: LearnedScore | None = None,
) -> tuple[NoveltyGate, list[str]]:
    """The novelty gate fitted on held-out history, and warnings naming what it lacks."""
    gate = fit_gate(
        [(c.queue, c.neighbours) for c in cases],
        taxonomy_queues=taxonomy.queue_names,
        score=score,
        k=params.k,
        tau=params.tau,
        alpha=alpha,
        model=model,
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


# Simulated novelty (docs/abstention.md): history tickets scored against history with their
# whole k-means sub-cluster removed stand in for tickets of a kind history has not seen.
MIN_FIT_TICKETS = 200
MIN_SIMULATED_QUEUES = 2
MIN_QUEUE_TO_SPLIT = 40  # two sub-clusters of about 20 tickets
_CHUNK = 256


@dataclass(frozen=True)
class History:
    """Every stored outcome: unit-normalised embeddings with their routes."""

    embeddings: np.ndarray
    queues: np.ndarray
    priorities: np.ndarray

    def __post_init__(self) -> None:
        if not len(self.embeddings) == len(self.queues) == len(self.priorities):
            raise ValueError("history embeddings, queues and priorities differ in length")


def n_subclusters(n: int) -> int:
    """Sub-clusters of a queue with n tickets: clip(round(sqrt(n / 20)), 2, 40)."""
    return int(np.clip(round(np.sqrt(n / 20)), 2, 40))


def subclusters(history: History, *, seed: int) -> np.ndarray:
    """A k-means sub-cluster id per ticket (-1: its queue is too small to split)."""
    rng = np.random.default_rng(seed)
    labels = np.full(len(history.queues), -1)
    next_id = 0
    for queue in sorted(set(history.queues.tolist())):
        rows = np.flatnonzero(history.queues == queue)
        if len(rows) < MIN_QUEUE_TO_SPLIT:
            continue
        c = n_subclusters(len(rows))
        _, lab = kmeans2(history.embeddings[rows], c, seed=int(rng.integers(1 << 30)), minit="++")
        labels[rows] = next_id + lab
        next_id += c
    return labels


def _nearest(history: History, rows: np.ndarray, dist: np.ndarray, k: int) -> list[list[Neighbour]]:
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    out = []
    for i, idx in enumerate(order):
        idx = idx[np.isfinite(dist[i, idx])]
        out.append(
            [
                Neighbour(
                    str(j),
                    "",
                    str(history.queues[j]),
                    str(history.priorities[j]),
                    float(dist[i, j]),
                )
                for j in idx
            ]
        )
    return out


def simulate_novelty(
    history: History, fit_rows: np.ndarray, *, k: int, seed: int = 0
) -> tuple[list[list[Neighbour]], list[list[Neighbour]]]:
    """In-scope examples (each fitting ticket against history without its own copies) and novel
    examples (those of a split queue against history without their whole sub-cluster)."""
    labels = subclusters(history, seed=seed)
    in_scope: list[list[Neighbour]] = []
    novel: list[list[Neighbour]] = []
    for start in range(0, len(fit_rows), _CHUNK):
        rows = np.asarray(fit_rows[start : start + _CHUNK])
        dist = 1.0 - history.embeddings[rows] @ history.embeddings.T
        own = dist.copy()
        own[np.arange(len(rows)), rows] = np.inf
        own[own <= DUPLICATE_DISTANCE] = np.inf
        in_scope += _nearest(history, rows, own, k)
        split = rows[labels[rows] >= 0]
        away = dist[labels[rows] >= 0]
        away[labels[split][:, None] == labels[None, :]] = np.inf
        novel += _nearest(history, split, away, k)
    return [n for n in in_scope if n], [n for n in novel if n]


def learned_score_for(
    history: History, fit_rows: np.ndarray, *, k: int, tau: float = DEFAULT_TAU, seed: int = 0
) -> tuple[LearnedScore | None, str | None]:
    """The learned score fitted on ``fit_rows`` (tickets outside the calibration sample), or
    None with the reason it cannot be simulated on this history."""
    split = sum(
        int((history.queues == q).sum() >= MIN_QUEUE_TO_SPLIT) for q in set(history.queues.tolist())
    )
    if split < MIN_SIMULATED_QUEUES:
        return None, (
            f"{MIN_SIMULATED_QUEUES} queues with {MIN_QUEUE_TO_SPLIT} tickets to simulate "
            f"novelty in (have {split})"
        )
    if len(fit_rows) < MIN_FIT_TICKETS:
        return None, (
            f"{MIN_FIT_TICKETS} history tickets outside the calibration sample "
            f"(have {len(fit_rows)})"
        )
    in_scope, novel = simulate_novelty(history, fit_rows, k=k, seed=seed)
    if not novel:
        return None, "fitting tickets in queues large enough to simulate novelty in"
    return fit_learned_score(in_scope, novel, k=k, tau=tau), None
