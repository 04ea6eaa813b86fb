"""What the graph's nodes may call: protocols implemented by the services layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from agent.budgets import BudgetHold, BudgetStatus
from agent.classify.base import Classifier, Neighbour
from agent.graph.state import Recorded, ResolvedVersion, RouteState
from agent.switches import SwitchBoard


class VersionResolver(Protocol):
    async def resolve(self, *, sticky_key: str) -> ResolvedVersion | None: ...


class TextEmbedder(Protocol):
    @property
    def model_name(self) -> str: ...

    async def embed(self, text: str) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class TenantOnly:
    """Retrieve only this tenant's outcomes (None: the history loaded without a tenant)."""

    tenant_id: str | None


class NeighbourStore(Protocol):
    async def nearest(
        self,
        *,
        embedding: np.ndarray,
        k: int,
        exclude_ticket_id: str,
        taxonomy: str | None = None,
        tenant: TenantOnly | None = None,
    ) -> list[Neighbour]:
        """The k nearest outcomes as labelled under ``taxonomy`` (a content hash): relabelled
        ones once history was migrated into it, the recorded ones otherwise; only ``tenant``'s
        when given (a version whose ``history_scope`` is ``tenant``), else the whole pool."""
        ...


class ClassifierFactory(Protocol):
    def for_version(self, version: ResolvedVersion, *, cheaper: bool = False) -> Classifier:
        """The version's classifier; ``cheaper`` serves its fallback model (budget nearly spent)."""
        ...


class BudgetGuard(Protocol):
    async def status(self, tenant_id: str | None) -> BudgetStatus: ...

    async def reserve(
        self, *, tenant_id: str | None, ticket_id: str, amount_usd: float
    ) -> BudgetHold:
        """Hold ``amount_usd`` of the tenant's budget for a model call, or refuse: granted
        only while spend, the holds of calls in flight and this one fit the budget."""
        ...

    async def release(self, hold: BudgetHold) -> None:
        """Give back a hold whose call raised (recording a decision settles the others)."""
        ...


class DecisionRecorder(Protocol):
    async def record(self, state: RouteState) -> Recorded:
        """Write decision, embedding and spans atomically; return the stored decision (the
        earlier one if the ticket already had a final decision) and the record span."""
        ...


class ReviewSampler(Protocol):
    def sample_rate(self, segments: Sequence[str]) -> float:
        """The share of confident decisions to sample for review in these segments."""
        ...


@dataclass(frozen=True)
class AgentContext:
    """Run-scoped dependencies, passed as LangGraph's runtime context."""

    switches: SwitchBoard
    versions: VersionResolver
    embedder: TextEmbedder
    history: NeighbourStore
    classifiers: ClassifierFactory
    recorder: DecisionRecorder
    sampler: ReviewSampler
    budgets: BudgetGuard
