"""Running the shadow version on a live ticket, on a worker, after production decided it.

The run is the same graph with the shadow version pinned: its own classifier, gates and
thresholds, on the embedding production stored for the ticket (the same vector; the model
is loaded only for a ticket that has none). Its decision is written with ``is_shadow`` and
never final: the review queue, outcomes, metrics, budgets and the one-final-decision
invariant do not see it. Its model calls are counted apart: no tenant budget hold, the
``shadow_spend`` ledger against ``shadow_monthly_budget_usd``, and its own per-minute limit.

:meth:`ShadowRunner.replay` is the same run kept in memory (an alert's attribution replays its
window through the previous production version): no decision is written, but its model cost
counts in that version's ``shadow_spend`` like a shadow run's, and once the month's shadow budget
is spent a replay is refused (:class:`ShadowBudgetSpent`).
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.budgets import NoBudgets
from agent.config import Settings
from agent.graph.context import (
    AgentContext,
    ClassifierFactory,
    DecisionRecorder,
    NeighbourStore,
    TextEmbedder,
)
from agent.graph.state import Recorded, ResolvedVersion, RouteState, SpanRecord
from agent.repositories import decisions, tickets
from agent.services.classifiers import ReviewSampling
from agent.services.control import ControlPlane
from agent.services.recorder import decision_values, span_json
from agent.services.router import Graph, initial_state
from agent.switches import SwitchBoard

log = logging.getLogger(__name__)


class ShadowBudgetSpent(RuntimeError):
    """The version's shadow budget for the month is spent: no more model calls for it."""


ShadowOutcome = Literal["recorded", "exists", "not_shadow", "no_ticket", "budget", "rate"]


class ShadowRecorder:
    """``DecisionRecorder`` of a shadow run: an ``is_shadow`` decision and its spans."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def record(self, state: RouteState) -> Recorded:
        started = datetime.now(UTC)
        spans = state.get("spans", [])
        first = min((s.started_at for s in spans), default=started)
        values = decision_values(state, latency_ms=(started - first).total_seconds() * 1000)
        values.update(stream="shadow", sampled_for_review=False, inclusion_prob=None)
        span = SpanRecord(
            name="record",
            span_id=secrets.token_hex(8),
            started_at=started,
            duration_ms=0.0,
            input={"spans": len(spans) + 1, "shadow": True},
            output={"decision_id": str(values["id"])},
        )
        async with self._pool.connection() as conn:
            await decisions.record_shadow(
                conn,
                decision=values,
                spans=[span_json(s) for s in [*spans, span]],
                trace_id=state["trace_id"],
            )
        return Recorded({**values, "is_final": False, "is_shadow": True}, span)


class MemoryRecorder:
    """``DecisionRecorder`` of a replay (an alert's attribution): the decision is kept in
    memory, nothing is written."""

    def __init__(self) -> None:
        self.decision: dict[str, Any] | None = None

    async def record(self, state: RouteState) -> Recorded:
        self.decision = decision_values(state, latency_ms=0.0)
        span = SpanRecord(
            name="record",
            span_id=secrets.token_hex(8),
            started_at=datetime.now(UTC),
            duration_ms=0.0,
            input={"replay": True},
            output={},
        )
        return Recorded({**self.decision, "is_final": False, "is_shadow": True}, span)


class NoSwitches:
    """``SwitchBoard`` of a replay: it asks what the version would route, switches aside."""

    async def enabled(self) -> frozenset[str]:
        return frozenset()


@dataclass(frozen=True)
class PinnedVersion:
    """``VersionResolver`` that always answers the shadow version."""

    version: ResolvedVersion

    async def resolve(self, *, sticky_key: str) -> ResolvedVersion | None:
        return self.version


@dataclass(frozen=True)
class StoredEmbedding:
    """``TextEmbedder`` answering the vector production stored for the ticket."""

    vector: np.ndarray
    model_name: str

    async def embed(self, text: str) -> np.ndarray:
        return self.vector


class ShadowRunner:
    def __init__(
        self,
        *,
        settings: Settings,
        pool: Any,
        sessions: async_sessionmaker[AsyncSession],
        control: ControlPlane,
        redis: Redis | None,
        graph: Graph,
        history: NeighbourStore,
        classifiers: ClassifierFactory,
        embedder: TextEmbedder | None = None,
        history_as_of: Callable[[datetime], NeighbourStore] | None = None,
    ) -> None:
        self._settings, self._pool, self._sessions = settings, pool, sessions
        self._history_as_of = history_as_of
        self._control, self._redis, self._graph = control, redis, graph
        self._history, self._classifiers, self._embedder = history, classifiers, embedder

    async def aclose(self) -> None:
        await self._pool.close()
        if self._redis is not None:
            await self._redis.aclose()

    async def run(self, ticket_id: uuid.UUID, version_id: uuid.UUID) -> ShadowOutcome:
        """Route the ticket through the shadow version, once; what happened."""
        label = await self._control.label("shadow", fresh=True)
        if label is None or label.version_id != version_id or label.canary_percent <= 0:
            return "not_shadow"  # turned off or moved since the ticket was enqueued
        async with self._pool.connection() as conn:
            if await decisions.has_shadow(conn, ticket_id, version_id):
                return "exists"
            if await self._over_budget(conn, version_id):
                return "budget"
            stored = await decisions.stored_embedding(conn, ticket_id)
        if not await self._within_rate(version_id):
            return "rate"
        async with self._sessions() as session:
            ticket = await tickets.get(session, ticket_id)
        if ticket is None:
            return "no_ticket"
        version = await self._control.version(version_id, "shadow")
        context = self._context(version, stored)
        await self._graph.ainvoke(initial_state(ticket), context=context)
        return "recorded"

    async def replay(self, ticket_id: uuid.UUID, version_id: uuid.UUID) -> dict[str, Any] | None:
        """The decision the version would make on the ticket, in memory: nothing is recorded,
        no label, budget or rate is consulted, kill switches are ignored, and (given
        ``history_as_of``) only outcomes recorded before the ticket arrived are retrieved, as
        production saw them, not the labels that came later. None: no ticket. Its model cost
        counts in the version's ``shadow_spend``; :class:`ShadowBudgetSpent` once that is
        over ``shadow_monthly_budget_usd``."""
        async with self._pool.connection() as conn:
            if await self._over_budget(conn, version_id):
                raise ShadowBudgetSpent(f"the shadow budget of version {version_id} is spent")
            stored = await decisions.stored_embedding(conn, ticket_id)
        async with self._sessions() as session:
            ticket = await tickets.get(session, ticket_id)
        if ticket is None:
            return None
        version = await self._control.version(version_id, "shadow")
        recorder = MemoryRecorder()
        history = self._history_as_of(ticket.received_at) if self._history_as_of else None
        context = self._context(
            version, stored, recorder=recorder, switches=NoSwitches(), history=history
        )
        await self._graph.ainvoke(initial_state(ticket), context=context)
        cost = Decimal((recorder.decision or {}).get("cost_usd") or 0)
        if cost > 0:
            async with self._pool.connection() as conn:
                await decisions.add_shadow_spend(conn, version_id, cost)
        return recorder.decision

    def _context(
        self,
        version: ResolvedVersion,
        stored: tuple[np.ndarray, str] | None,
        *,
        recorder: DecisionRecorder | None = None,
        switches: SwitchBoard | None = None,
        history: NeighbourStore | None = None,
    ) -> AgentContext:
        embedder = self._embedder
        if stored is not None:
            embedder = StoredEmbedding(stored[0], stored[1])
        if embedder is None:
            raise RuntimeError("the ticket has no stored embedding and no embedder is loaded")
        return AgentContext(
            switches=switches or self._control,
            versions=PinnedVersion(version),
            embedder=embedder,
            history=history or self._history,
            classifiers=self._classifiers,
            recorder=recorder or ShadowRecorder(self._pool),
            sampler=ReviewSampling(0.0),
            budgets=NoBudgets(),
        )

    async def _over_budget(self, conn: Any, version_id: uuid.UUID) -> bool:
        budget = self._settings.shadow_monthly_budget_usd
        if budget is None:
            return False
        return await decisions.shadow_month_spend_usd(conn, version_id) >= budget

    async def _within_rate(self, version_id: uuid.UUID) -> bool:
        limit = self._settings.shadow_max_per_minute
        if limit <= 0 or self._redis is None:
            return True
        key = f"ticketwatch:shadow:rate:{version_id}:{int(time.time() // 60)}"
        try:
            count = await self._redis.incr(key)
            if count == 1:
                await self._redis.expire(key, 120)
        except (RedisError, OSError) as exc:
            log.warning("shadow rate limit unreadable, not shadowing: %s", exc)
            return False
        return count <= limit
