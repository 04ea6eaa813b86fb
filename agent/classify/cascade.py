"""The ``cascade`` classifier: the knn vote first, the LLM only when the vote is unsure.

Model tiering: most tickets resemble history closely and the free, fast vote settles them; the
LLM is paid for only where the neighbourhood is mixed, sparse or far.
"""

from __future__ import annotations

from agent.classify.base import Classification, Classifier, Neighbour, cost_estimate_usd
from agent.taxonomy import UNKNOWN, Taxonomy


class CascadeClassifier:
    name = "cascade"

    def __init__(self, *, knn: Classifier, llm: Classifier, threshold: float) -> None:
        self.knn = knn
        self.llm = llm
        self.threshold = threshold

    def estimate_cost_usd(
        self, *, text: str, neighbours: list[Neighbour], taxonomy: Taxonomy
    ) -> float:
        """The LLM's bound: whether the vote will be unsure is not known before it runs."""
        return cost_estimate_usd(self.llm, text=text, neighbours=neighbours, taxonomy=taxonomy)

    async def classify(
        self, *, text: str, neighbours: list[Neighbour], taxonomy: Taxonomy
    ) -> Classification:
        first = await self.knn.classify(text=text, neighbours=neighbours, taxonomy=taxonomy)
        knn_confidence = first.queue_probs.get(first.queue, 0.0)
        if first.queue != UNKNOWN and knn_confidence >= self.threshold:
            first.classifier = self.name
            first.details = {**first.details, "tier": "knn", "knn_confidence": knn_confidence}
            return first
        second = await self.llm.classify(text=text, neighbours=neighbours, taxonomy=taxonomy)
        second.classifier = self.name
        second.details = {
            **second.details,
            "tier": "llm",
            "knn_confidence": knn_confidence,
            "knn_queue": first.queue,
        }
        return second
