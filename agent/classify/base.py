"""What every classifier takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from agent.taxonomy import Taxonomy


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A historical ticket with a known final route, retrieved by embedding distance."""

    ticket_id: str
    text: str
    queue: str
    priority: str
    distance: float  # cosine distance in [0, 2]


@dataclass(slots=True)
class Classification:
    """A classifier's answer. Probabilities cover the taxonomy's queues plus ``unknown``.

    ``error`` is set when the classifier could not answer (timeout, provider error, invalid
    output, open circuit); the decision step then routes the ticket to human triage and records
    the reason. A classifier never raises for a model failure: it returns an error.
    """

    classifier: str
    queue_probs: dict[str, float]
    priority_probs: dict[str, float]
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    error: str | None = None
    probability_source: str = "vote"  # vote | logprobs | samples
    details: dict[str, object] = field(default_factory=dict)

    @property
    def queue(self) -> str:
        return max(self.queue_probs, key=self.queue_probs.__getitem__)

    @property
    def priority(self) -> str:
        return max(self.priority_probs, key=self.priority_probs.__getitem__)


class Classifier(Protocol):
    """Classifies a ticket's text, given its nearest historical neighbours."""

    name: str

    async def classify(
        self, *, text: str, neighbours: list[Neighbour], taxonomy: Taxonomy
    ) -> Classification: ...


def cost_estimate_usd(
    classifier: Classifier, *, text: str, neighbours: list[Neighbour], taxonomy: Taxonomy
) -> float:
    """The most a classification may cost, known before it runs (the budget reserves it): the
    classifier's ``estimate_cost_usd`` where it has one; 0 for one that calls no priced model."""
    estimate = getattr(classifier, "estimate_cost_usd", None)
    if estimate is None:
        return 0.0
    return float(estimate(text=text, neighbours=neighbours, taxonomy=taxonomy))
