"""``knn``: the calibrated vote of the nearest historical tickets (offline, free)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.classify.registry import register

if TYPE_CHECKING:
    from agent.classify.base import Classifier
    from agent.config import Settings
    from agent.graph.state import ResolvedVersion


@register(
    "knn",
    description="calibrated vote of the nearest historical tickets (offline, free)",
    model_backed=False,
)
def build(version: ResolvedVersion, *, knn: Classifier, settings: Settings) -> Classifier:
    return knn
