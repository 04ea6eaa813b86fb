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
from scipy.optimize import minimize
from scipy.special import expit

from agent.classify.base import Neighbour
from agent.classify.knn import vote_shares

DEFAULT_ALPHA = 0.05
DEFAULT_SCORE = "nearest_disagreement"
# A score fitted on the team's own history (simulated novelty); needs a ``LearnedScore``.
LEARNED = "learned"
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
SCORE_NAMES = (*SCORES, LEARNED)

# Features of the learned score, all from the ticket's own k neighbours (no other query).
FEATURES = (
    "log_nearest",
    "log_mean_5",
    "log_mean_k",
    "route_disagreement",
    "nearest_over_other_route",
    "log_nearest_disagreement",
)
_LOG_FLOOR = 1e-4


def score_features(neighbours: Sequence[Neighbour], k: int, tau: float) -> np.ndarray:
    """The learned score's features (``FEATURES``) of a ticket with at least one neighbour."""
    near = list(neighbours)[:k]
    d = np.asarray([n.distance for n in near], dtype=float)
    routes = [(n.queue, n.priority) for n in near]
    other = [i for i, r in enumerate(routes) if r != routes[0]]
    d_other = d[other[0]] if other else d[-1]  # nearest outcome of another route (or the k-th)
    disagreement = route_disagreement(near, k, tau)
    return np.asarray(
        [
            math.log(d[0] + _LOG_FLOOR),
            math.log(d[:5].mean() + _LOG_FLOOR),
            math.log(d.mean() + _LOG_FLOOR),
            disagreement,
            d[0] / max(float(d_other), 1e-6),
            math.log(d[0] * (1.0 + disagreement) + _LOG_FLOOR),
        ]
    )


@dataclass(frozen=True)
class LearnedScore:
    """A logistic regression telling simulated-novel tickets from in-scope ones; the score is
    its logit without the intercept (a constant shift leaves the p-value unchanged)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    features: tuple[str, ...] = FEATURES

    def __post_init__(self) -> None:
        if self.features != FEATURES:
            raise ValueError(f"learned score features {list(self.features)} are not {FEATURES}")
        if not len(self.mean) == len(self.scale) == len(self.coef) == len(FEATURES):
            raise ValueError(f"learned score needs {len(FEATURES)} means, scales and coefs")

    def __call__(self, neighbours: Sequence[Neighbour], k: int, tau: float) -> float:
        z = (score_features(neighbours, k, tau) - np.asarray(self.mean)) / np.asarray(self.scale)
        return float(z @ np.asarray(self.coef))

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnedScore:
        return cls(
            mean=tuple(float(x) for x in data["mean"]),
            scale=tuple(float(x) for x in data["scale"]),
            coef=tuple(float(x) for x in data["coef"]),
            features=tuple(str(f) for f in data["features"]),
        )


def fit_learned_score(
    in_scope: Sequence[Sequence[Neighbour]],
    novel: Sequence[Sequence[Neighbour]],
    *,
    k: int,
    tau: float = DEFAULT_TAU,
    l2: float = 1e-2,
) -> LearnedScore:
    """Balanced, L2-regularised logistic regression of novel (1) against in-scope (0) on the
    standardised features of each example's neighbour list."""
    if not in_scope or not novel:
        raise ValueError("a learned score needs both in-scope and novel examples")
    x = np.asarray([score_features(n, k, tau) for n in (*in_scope, *novel)])
    y = np.r_[np.zeros(len(in_scope)), np.ones(len(novel))]
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = np.column_stack([(x - mean) / scale, np.ones(len(x))])
    weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))

    def loss(b: np.ndarray) -> tuple[float, np.ndarray]:
        t = z @ b
        value = (weight * (np.logaddexp(0, t) - y * t)).mean() + 0.5 * l2 * (b[:-1] ** 2).sum()
        grad = z.T @ (weight * (expit(t) - y)) / len(y) + l2 * np.r_[b[:-1], 0.0]
        return float(value), grad

    b = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B").x
    return LearnedScore(
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in b[:-1]),
    )


def nonconformity(
    neighbours: Sequence[Neighbour],
    *,
    score: str,
    k: int,
    tau: float = DEFAULT_TAU,
    model: LearnedScore | None = None,
) -> float:
    """How unlike its history a ticket is (higher: stranger); infinite with no history."""
    fn: Score
    if score == LEARNED:
        if model is None:
            raise ValueError("the learned novelty score needs its fitted model")
        fn = model
    else:
        try:
            fn = SCORES[score]
        except KeyError:
            known = ", ".join(sorted(SCORE_NAMES))
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
    model: LearnedScore | None = None

    @property
    def n(self) -> int:
        return len(self.calibration)

    def judge(self, neighbours: Sequence[Neighbour]) -> Novelty:
        """The p-value of a live ticket; novel when p < alpha or when there is no history."""
        if not neighbours:
            empty = "unlike the history: no history to compare it with (novelty p-value 0)"
            return Novelty(math.inf, 0.0, self.alpha, True, empty)
        s = nonconformity(neighbours, score=self.score, k=self.k, tau=self.tau, model=self.model)
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
            **({"model": self.model.to_dict()} if self.model is not None else {}),
        }

    @classmethod
    def from_thresholds(cls, data: dict[str, Any] | None) -> NoveltyGate | None:
        """The gate a version stores under ``thresholds["novelty"]`` (None: no gate)."""
        if not data:
            return None
        model = data.get("model")
        return cls(
            score=str(data.get("score", DEFAULT_SCORE)),
            k=int(data.get("k", 15)),
            tau=float(data.get("tau", DEFAULT_TAU)),
            alpha=float(data.get("alpha", DEFAULT_ALPHA)),
            calibration=tuple(sorted(float(s) for s in data.get("calibration", ()))),
            calibrated=bool(data.get("calibrated", False)),
            missing=tuple(str(m) for m in data.get("missing", ())),
            model=LearnedScore.from_dict(model) if model else None,
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
    model: LearnedScore | None = None,
) -> NoveltyGate:
    """The gate from held-out tickets (true queue, neighbours with the ticket left out).

    A ``learned`` score's ``model`` must have been fitted without these tickets as examples:
    the score is then fixed before their scores are computed, and the p-value stays exact."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    scores = []
    for _, neighbours in held_out:
        near = leave_one_out(neighbours)
        if near:
            scores.append(nonconformity(near, score=score, k=k, tau=tau, model=model))
    missing = missing_for_calibration([q for q, _ in held_out], taxonomy_queues)
    return NoveltyGate(
        score=score,
        k=k,
        tau=tau,
        alpha=alpha,
        calibration=tuple(sorted(scores)),
        calibrated=not missing,
        missing=tuple(missing),
        model=model,
    )
