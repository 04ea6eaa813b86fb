"""``cascade``: the knn vote, and the LLM when the vote is unsure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.classify.kinds.llm import build_llm
from agent.classify.registry import register

if TYPE_CHECKING:
    from agent.classify.base import Classifier
    from agent.config import Settings
    from agent.graph.state import ResolvedVersion

DEFAULT_CASCADE_THRESHOLD = 0.8


@register(
    "cascade",
    description="the knn vote, then the LiteLLM model (--model) when its confidence is below "
    "params.cascade_threshold (default 0.8)",
    model_backed=True,
    defaults={"cascade_threshold": DEFAULT_CASCADE_THRESHOLD},
)
def build(version: ResolvedVersion, *, knn: Classifier, settings: Settings) -> Classifier:
    from agent.classify.cascade import CascadeClassifier

    threshold = float(version.params.get("cascade_threshold", DEFAULT_CASCADE_THRESHOLD))
    return CascadeClassifier(knn=knn, llm=build_llm(version, settings), threshold=threshold)
