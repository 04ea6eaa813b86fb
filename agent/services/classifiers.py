"""Building each version's classifier once, and review sampling rates."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from agent.classify.base import Classifier
from agent.classify.knn import KnnClassifier, KnnParams
from agent.classify.novelty import NoveltyGate
from agent.config import Settings
from agent.graph.state import ResolvedVersion


class ClassifierRegistry:
    """``ClassifierFactory``: one classifier per agent version, built on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._built: dict[tuple[str, bool], Classifier] = {}

    def for_version(self, version: ResolvedVersion, *, cheaper: bool = False) -> Classifier:
        """The version's classifier; ``cheaper`` serves its fallback model as the primary
        (the tenant's budget is nearly spent). A kind with no model costs nothing, so it is
        the same."""
        cheaper = cheaper and version.kind.model_backed and bool(version.fallback_model)
        key = (version.id, cheaper)
        classifier = self._built.get(key)
        if classifier is None:
            classifier = self._build(version, cheaper)
            self._built[key] = classifier
        return classifier

    def _build(self, version: ResolvedVersion, cheaper: bool) -> Classifier:
        """The version's kind builds it (:mod:`agent.classify.kinds`), given its knn vote."""
        gate = NoveltyGate.from_thresholds(version.thresholds.get("novelty"))
        knn = KnnClassifier(KnnParams.from_params(version.params), gate)
        if cheaper:
            version = dataclasses.replace(
                version, model=version.fallback_model, fallback_model=None
            )
        return version.kind.build(version, knn=knn, settings=self._settings)


class ReviewSampling:
    """``ReviewSampler``: the share of confident decisions sampled for human review: the base
    rate, or a segment's boosted rate (``boosts`` returns the current ones)."""

    def __init__(
        self, base_rate: float, boosts: Callable[[], dict[str, float]] | None = None
    ) -> None:
        self.base_rate = base_rate
        self.boosts = boosts or dict

    def sample_rate(self, segments: Sequence[str]) -> float:
        current = self.boosts()
        return max([self.base_rate, *(current.get(s, 0.0) for s in segments)])
