"""Building the model-backed classifiers (``llm``, ``cascade``) of an agent version."""

from __future__ import annotations

from typing import Any

from agent.classify.base import Classifier
from agent.classify.cascade import CascadeClassifier
from agent.classify.llm_factory import build_llm_classifier
from agent.config import Settings
from agent.graph.state import ResolvedVersion

DEFAULT_CASCADE_THRESHOLD = 0.8


def llm_overrides(version: ResolvedVersion) -> dict[str, Any]:
    """The version's LLM parameters: its pinned models, then its ``params["llm"]``."""
    overrides: dict[str, Any] = dict(version.params.get("llm", {}))
    if version.model:
        overrides["model"] = version.model
    if version.fallback_model:
        overrides["fallback_model"] = version.fallback_model
    return overrides


def build_model_classifier(
    version: ResolvedVersion, *, knn: Classifier, settings: Settings
) -> Classifier:
    llm = build_llm_classifier(settings, llm_overrides(version))
    if version.classifier == "llm":
        return llm
    if version.classifier == "cascade":
        threshold = float(version.params.get("cascade_threshold", DEFAULT_CASCADE_THRESHOLD))
        return CascadeClassifier(knn=knn, llm=llm, threshold=threshold)
    raise ValueError(f"unknown classifier {version.classifier!r}")
