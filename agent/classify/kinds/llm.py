"""``llm``: a LiteLLM model classifies each ticket, shown its nearest historical tickets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.classify.registry import register

if TYPE_CHECKING:
    from agent.classify.base import Classifier
    from agent.config import Settings
    from agent.graph.state import ResolvedVersion


def build_llm(version: ResolvedVersion, settings: Settings) -> Classifier:
    """The version's LLM classifier: its pinned models, its ``params["llm"]`` and its prompt;
    ``settings`` give only the keys and the endpoints the version does not pin."""
    from agent.classify.llm_factory import LLMParams, build_llm_classifier
    from agent.classify.prompt_template import parse_prompt

    params = LLMParams.for_version(
        settings,
        version.params.get("llm", {}),
        model=version.model,
        fallback_model=version.fallback_model,
    )
    return build_llm_classifier(settings, params, parse_prompt(version.prompt_template))


@register(
    "llm",
    description="a LiteLLM model (--model) classifies each ticket",
    model_backed=True,
)
def build(version: ResolvedVersion, *, knn: Classifier, settings: Settings) -> Classifier:
    return build_llm(version, settings)
