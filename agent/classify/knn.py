"""The ``knn`` classifier: a calibrated, distance-weighted vote of the nearest outcomes.

Each neighbour i at cosine distance d_i votes for its outcome with weight exp(-d_i / tau). The
vote shares v_c (smoothed by alpha) are calibrated with a temperature T fitted on held-out
history: p_c ∝ v_c^(1/T). When even the nearest neighbour is far (d_1 beyond what held-out
history shows), probability mass moves to ``unknown``: u = clip((d_1 - lo) / (hi - lo), 0, 1);
a version with a novelty gate takes u from the gate's conformal p-value instead (``novelty``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from agent.classify.base import Classification, Neighbour
from agent.taxonomy import UNKNOWN, Taxonomy

if TYPE_CHECKING:
    from agent.classify.novelty import NoveltyGate


@dataclass(frozen=True)
class KnnParams:
    """The knn classifier's parameters, stored in the agent version (fitted by calibration)."""

    k: int = 15
    tau: float = 0.05
    alpha: float = 0.01
    temperature_queue: float = 1.0
    temperature_priority: float = 1.0
    unknown_lo: float = 0.55
    unknown_hi: float = 0.75

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> KnnParams:
        known = {k: v for k, v in params.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_params(self) -> dict[str, Any]:
        return asdict(self)


def vote_shares(
    labels: Sequence[str], distances: Sequence[float], classes: Iterable[str], tau: float
) -> dict[str, float]:
    """Distance-weighted vote shares over ``classes`` (zero for classes nobody voted for)."""
    shares = dict.fromkeys(classes, 0.0)
    if not labels:
        return shares
    d0 = min(distances)
    weights = [math.exp(-(d - d0) / tau) for d in distances]  # shifted: stable, same ratios
    total = sum(weights)
    for label, w in zip(labels, weights, strict=True):
        if label in shares:
            shares[label] += w / total
    return shares


def calibrate(shares: dict[str, float], *, alpha: float, temperature: float) -> dict[str, float]:
    """Smooth and temperature-scale vote shares into probabilities."""
    k = len(shares)
    logits = {c: math.log((v + alpha) / (1 + k * alpha)) / temperature for c, v in shares.items()}
    top = max(logits.values())
    exp = {c: math.exp(z - top) for c, z in logits.items()}
    total = sum(exp.values())
    return {c: e / total for c, e in exp.items()}


def unknown_mass(nearest_distance: float | None, lo: float, hi: float) -> float:
    """How much probability the neighbourhood's distance moves to ``unknown``."""
    if nearest_distance is None:
        return 1.0
    if hi <= lo:
        return 1.0 if nearest_distance > lo else 0.0
    return min(1.0, max(0.0, (nearest_distance - lo) / (hi - lo)))


def consensus(neighbours: Sequence[Neighbour], tau: float) -> tuple[str | None, float | None]:
    """The queue the history's vote favours and its share (label-free agreement reference)."""
    if not neighbours:
        return None, None
    classes = {n.queue for n in neighbours}
    shares = vote_shares(
        [n.queue for n in neighbours], [n.distance for n in neighbours], classes, tau
    )
    queue = max(shares, key=shares.__getitem__)
    return queue, shares[queue]


def knn_probabilities(
    neighbours: Sequence[Neighbour],
    taxonomy: Taxonomy,
    params: KnnParams,
    unknown: float | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Calibrated queue probabilities (with ``unknown``) and priority probabilities.
    ``unknown`` overrides the distance ramp (the novelty gate's verdict)."""
    near = list(neighbours)[: params.k]
    distances = [n.distance for n in near]
    queue_shares = vote_shares([n.queue for n in near], distances, taxonomy.queue_names, params.tau)
    prio_shares = vote_shares(
        [n.priority for n in near], distances, taxonomy.priority_names, params.tau
    )
    u = (
        unknown_mass(min(distances) if distances else None, params.unknown_lo, params.unknown_hi)
        if unknown is None
        else unknown
    )
    queue_probs = {
        c: (1 - u) * p
        for c, p in calibrate(
            queue_shares, alpha=params.alpha, temperature=params.temperature_queue
        ).items()
    }
    queue_probs[UNKNOWN] = u
    prio_probs = calibrate(prio_shares, alpha=params.alpha, temperature=params.temperature_priority)
    return queue_probs, prio_probs


class KnnClassifier:
    """Classifies by the calibrated vote of the nearest historical outcomes. Needs no model."""

    name = "knn"

    def __init__(self, params: KnnParams, gate: NoveltyGate | None = None) -> None:
        self.params = params
        self.gate = gate

    async def classify(
        self, *, text: str, neighbours: list[Neighbour], taxonomy: Taxonomy
    ) -> Classification:
        novelty = self.gate.judge(neighbours) if self.gate else None
        u = novelty.unknown if novelty else None
        queue_probs, prio_probs = knn_probabilities(neighbours, taxonomy, self.params, u)
        return Classification(
            classifier=self.name,
            queue_probs=queue_probs,
            priority_probs=prio_probs,
            probability_source="vote",
            details={
                "neighbours": len(neighbours),
                "nearest_distance": min((n.distance for n in neighbours), default=None),
                **(novelty.details() if novelty else {}),
            },
        )
