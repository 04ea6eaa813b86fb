"""``llm``: a LiteLLM model classifies each ticket, shown its nearest historical tickets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.classify.registry import register

if TYPE_CHECKING:
    from agent.classify.base import Classifier
    from agent.config import Settings
    from agent.graph.state import ResolvedVersion


def llm_overrides(version: ResolvedVersion) -> dict[str, Any]:
    """The version's LLM parameters: its pinned models, then its ``params["llm"]``."""
    overrides: dict[str, Any] = dict(version.params.get("llm", {}))
    if version.model:
        overrides["model"] = version.model
    if version.fallback_model:
        overrides["fallback_model"] = version.fallback_model
    return overrides


def build_llm(version: ResolvedVersion, settings: Settings) -> Classifier:
    """The version's LLM classifier (its model, fallback and ``params["llm"]``)."""
    from agent.classify.llm_factory import build_llm_classifier

    return build_llm_classifier(settings, llm_overrides(version))


@register(
    "llm",
    description="a LiteLLM model (--model) classifies each ticket",
    model_backed=True,
)
def build(version: ResolvedVersion, *, knn: Classifier, settings: Settings) -> Classifier:
    return build_llm(version, settings)
