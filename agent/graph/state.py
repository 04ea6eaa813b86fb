"""What flows through one graph run."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypedDict

import numpy as np

from agent.budgets import BudgetStatus
from agent.classify.base import Classification, Neighbour
from agent.classify.novelty import Novelty
from agent.classify.registry import ClassifierKind, UnknownClassifierError, get_kind
from agent.config import DEFAULT_EMBEDDING_MODEL
from agent.taxonomy import Taxonomy


@dataclass(frozen=True, slots=True)
class TicketInput:
    """The accepted ticket, as the graph sees it."""

    ticket_id: str
    text: str
    channel: str
    source: str
    customer_id: str | None
    tenant_id: str | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class ResolvedVersion:
    """The agent version serving this ticket, and through which label. Its classifier kind
    must be registered (:mod:`agent.classify.kinds`): loading a version of an unknown kind fails
    here, naming the version, rather than when its first ticket is classified."""

    id: str
    semver: str
    label: str
    classifier: str
    model: str | None
    fallback_model: str | None
    prompt_template: str
    params: dict[str, Any]
    thresholds: dict[str, Any]
    taxonomy: Taxonomy
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    content_hash: str = ""

    def __post_init__(self) -> None:
        try:
            get_kind(self.classifier)
        except UnknownClassifierError as exc:
            raise UnknownClassifierError(f"agent version {self.semver}: {exc}") from None

    @property
    def kind(self) -> ClassifierKind:
        """The registered kind of this version's classifier."""
        return get_kind(self.classifier)


@dataclass(frozen=True, slots=True)
class DecisionDraft:
    """The decision before it is written: where the ticket goes, and why."""

    routed_to: str
    mode: str
    queue: str | None
    priority: str | None
    needs_review: bool
    reason: str | None
    confidence: float | None = None
    margin: float | None = None
    entropy: float | None = None
    knn_agreement: float | None = None
    knn_consensus: str | None = None
    sampled_for_review: bool = False
    inclusion_prob: float | None = None


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One node's run, kept for the trace."""

    name: str
    span_id: str
    started_at: datetime
    duration_ms: float
    input: dict[str, Any]
    output: dict[str, Any]
    error: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the record step wrote: the stored decision row and its own span."""

    decision: dict[str, Any]
    span: SpanRecord


class RouteState(TypedDict, total=False):
    ticket: TicketInput
    trace_id: str
    enabled_switches: frozenset[str]
    switch: str | None
    budget: BudgetStatus | None
    version: ResolvedVersion | None
    embedding: np.ndarray | None
    neighbours: list[Neighbour]
    novelty: Novelty | None
    classification: Classification | None
    # The budget hold of the classification's model calls, settled when the decision is
    # recorded; and the estimate it held.
    reservation_id: str | None
    estimated_cost_usd: float
    decision: DecisionDraft | None
    failure: str | None
    decision_id: str | None
    decision_row: dict[str, Any] | None
    spans: Annotated[list[SpanRecord], operator.add]
