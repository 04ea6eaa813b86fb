"""The novelty gate: a split-conformal p-value for "is this ticket like the history?".

A nonconformity score s(x) is computed from a ticket's nearest historical outcomes. The
version stores the scores of held-out history tickets, each scored leave-one-out exactly as a
live ticket is scored (same k, same retrieval). For a live ticket with score s,

    p = (1 + #{calibration scores >= s}) / (n + 1)

and if the live ticket is exchangeable with history, P(p <= alpha) <= alpha: a ticket with
p < alpha is escalated as ``novel`` and in-scope tickets are escalated at most alpha of the time,
whatever the score. The score decides only the power: how many unlike tickets are caught.
See docs/abstention.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.classify.base import Neighbour
from agent.classify.knn import vote_shares

DEFAULT_ALPHA = 0.05
DEFAULT_SCORE = "nearest_disagreement"
DEFAULT_TAU = 0.05
MIN_CALIBRATION = 50
MIN_PER_QUEUE = 5
# Neighbours closer than this are the same text (a duplicate): leave-one-out leaves them out too.
DUPLICATE_DISTANCE = 1e-6


def _distances(neighbours: Sequence[Neighbour], k: int) -> np.ndarray:
    return np.asarray([n.distance for n in list(neighbours)[:k]], dtype=float)


def nearest_distance(neighbours: Sequence[Neighbour], k: int, tau: float) -> float:
    """The plain score: cosine distance to the nearest historical outcome."""
    d = _distances(neighbours, k)
    return float(d.min()) if d.size else math.inf


def knn_mean_distance(neighbours: Sequence[Neighbour], k: int, tau: float) -> float:
    """Mean cosine distance of the k nearest outcomes."""
    d = _distances(neighbours, k)
    return float(d.mean()) if d.size else math.inf


def route_disagreement(neighbours: Sequence[Neighbour], k: int, tau: float) -> float:
    """1 - the largest distance-weighted vote share among the neighbours' routes
    (queue and priority): 0 when they agree, towards 1 when their votes split."""
    near = list(neighbours)[:k]
    if not near:
        return 1.0
    routes = [f"{n.queue}/{n.priority}" for n in near]
    shares = vote_shares(routes, [n.distance for n in near], set(routes), tau)
    return 1.0 - max(shares.values())


def nearest_disagreement(neighbours: Sequence[Neighbour], k: int, tau: float) -> float:
    """The nearest distance, stretched by how much the neighbours' routes disagree: a ticket
    between several known kinds of tickets (split votes) is stranger than one as far from a
    single kind. Measured best among the scores here (docs/abstention.md)."""
    return nearest_distance(neighbours, k, tau) * (1.0 + route_disagreement(neighbours, k, tau))


Score = Callable[[Sequence[Neighbour], int, float], float]
SCORES: dict[str, Score] = {
    "nearest": nearest_distance,
    "knn_mean": knn_mean_distance,
    "nearest_disagreement": nearest_disagreement,
}


def nonconformity(
    neighbours: Sequence[Neighbour], *, score: str, k: int, tau: float = DEFAULT_TAU
) -> float:
    """How unlike its history a ticket is (higher: stranger); infinite with no history."""
    try:
        fn = SCORES[score]
    except KeyError:
        known = ", ".join(sorted(SCORES))
        raise ValueError(f"unknown novelty score {score!r}; choose one of {known}") from None
    if not neighbours:
        return math.inf
    return fn(neighbours, k, tau)


def p_value(score: float, calibration: Sequence[float] | np.ndarray) -> float:
    """Conformal p-value of ``score`` among sorted calibration scores (ties count as >=)."""
    cal = np.asarray(calibration, dtype=float)
    at_least = cal.size - int(np.searchsorted(cal, score, side="left"))
    return (1 + at_least) / (cal.size + 1)


def unknown_probability(p: float, alpha: float) -> float:
    """The ``unknown`` class's probability: above one half exactly when p < alpha, zero from
    p >= 2 alpha, so the monitor's unknown rate and entropy follow the gate."""
    return min(1.0, max(0.0, 1.0 - p / (2 * alpha)))


@dataclass(frozen=True)
class Novelty:
    """The gate's verdict on one ticket."""

    score: float
    p_value: float
    alpha: float
    novel: bool
    reason: str | None

    @property
    def unknown(self) -> float:
        return unknown_probability(self.p_value, self.alpha)

    def details(self) -> dict[str, Any]:
        return {
            "novelty_score": None if math.isinf(self.score) else round(self.score, 6),
            "p_value": round(self.p_value, 6),
            "alpha": self.alpha,
            "novel": self.novel,
        }


@dataclass(frozen=True)
class NoveltyGate:
    """What a version stores to judge novelty: immutable with the version."""

    score: str = DEFAULT_SCORE
    k: int = 15
    tau: float = DEFAULT_TAU
    alpha: float = DEFAULT_ALPHA
    calibration: tuple[float, ...] = ()
    calibrated: bool = False
    missing: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n(self) -> int:
        return len(self.calibration)

    def judge(self, neighbours: Sequence[Neighbour]) -> Novelty:
        """The p-value of a live ticket; novel when p < alpha or when there is no history."""
        if not neighbours:
            empty = "unlike the history: no history to compare it with (novelty p-value 0)"
            return Novelty(math.inf, 0.0, self.alpha, True, empty)
        s = nonconformity(neighbours, score=self.score, k=self.k, tau=self.tau)
        p = p_value(s, self.calibration)
        novel = p < self.alpha
        reason = (
            f"unlike the history: novelty p-value {p:.4f} is below alpha {self.alpha:g} "
            f"({self.score} score {s:.3f}, {self.n} calibration tickets)"
            if novel
            else None
        )
        return Novelty(s, p, self.alpha, novel, reason)

    def to_thresholds(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "k": self.k,
            "tau": self.tau,
            "alpha": self.alpha,
            "n": self.n,
            "calibrated": self.calibrated,
            "missing": list(self.missing),
            "calibration": [round(s, 6) for s in self.calibration],
        }

    @classmethod
    def from_thresholds(cls, data: dict[str, Any] | None) -> NoveltyGate | None:
        """The gate a version stores under ``thresholds["novelty"]`` (None: no gate)."""
        if not data:
            return None
        return cls(
            score=str(data.get("score", DEFAULT_SCORE)),
            k=int(data.get("k", 15)),
            tau=float(data.get("tau", DEFAULT_TAU)),
            alpha=float(data.get("alpha", DEFAULT_ALPHA)),
            calibration=tuple(sorted(float(s) for s in data.get("calibration", ()))),
            calibrated=bool(data.get("calibrated", False)),
            missing=tuple(str(m) for m in data.get("missing", ())),
        )


def leave_one_out(neighbours: Sequence[Neighbour]) -> list[Neighbour]:
    """A held-out ticket's neighbours without its own copies: an exact duplicate of a held-out
    ticket is the ticket again, and would make history look closer than a fresh ticket's."""
    return [n for n in neighbours if n.distance > DUPLICATE_DISTANCE]


def missing_for_calibration(queues: Sequence[str], taxonomy_queues: Sequence[str]) -> list[str]:
    """What the held-out history lacks for a trusted gate (empty: nothing)."""
    missing = []
    if len(queues) < MIN_CALIBRATION:
        missing.append(f"{MIN_CALIBRATION} held-out tickets (have {len(queues)})")
    counts = dict.fromkeys(taxonomy_queues, 0)
    for q in queues:
        if q in counts:
            counts[q] += 1
    thin = [f"{q} ({c})" for q, c in counts.items() if c < MIN_PER_QUEUE]
    if thin and len(queues) >= MIN_CALIBRATION:
        missing.append(f"{MIN_PER_QUEUE} held-out tickets in each queue: " + ", ".join(thin))
    return missing


def fit_gate(
    held_out: Sequence[tuple[str, Sequence[Neighbour]]],
    *,
    taxonomy_queues: Sequence[str],
    score: str = DEFAULT_SCORE,
    k: int = 15,
    tau: float = DEFAULT_TAU,
    alpha: float = DEFAULT_ALPHA,
) -> NoveltyGate:
    """The gate from held-out tickets (true queue, neighbours with the ticket left out)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    scores = []
    for _, neighbours in held_out:
        near = leave_one_out(neighbours)
        if near:
            scores.append(nonconformity(near, score=score, k=k, tau=tau))
    missing = missing_for_calibration([q for q, _ in held_out], taxonomy_queues)
    return NoveltyGate(
        score=score,
        k=k,
        tau=tau,
        alpha=alpha,
        calibration=tuple(sorted(scores)),
        calibrated=not missing,
        missing=tuple(missing),
    )
