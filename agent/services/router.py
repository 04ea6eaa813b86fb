"""Routing a submitted ticket: store it first, run the graph, answer with the final decision.

Every accepted ticket ends with exactly one final decision: the ticket row is committed before
any model call; a resubmission returns the first decision; concurrent duplicates wait for it;
and :meth:`TicketRouter.reconcile` finishes tickets that a crash or outage left without one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import structlog
from langgraph.graph.state import CompiledStateGraph
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.graph.context import AgentContext
from agent.graph.state import RouteState, TicketInput
from agent.graph.tracing import new_trace_id
from agent.metrics import observe_decision
from agent.models import Decision, Ticket
from agent.repositories import decisions, tickets
from agent.services.budgets import TenantBudgets
from agent.services.neighbours import ticket_text
from agent.services.shadow_dispatch import ShadowDispatch
from agent.tracing import NoExport, TraceExport

log = logging.getLogger(__name__)

Graph = CompiledStateGraph[RouteState, AgentContext, RouteState, RouteState]


@dataclass(frozen=True)
class Submission:
    """A ticket as submitted by a tenant (already validated)."""

    source: str
    external_id: str
    body: str
    subject: str = ""
    customer_id: str | None = None
    channel: str = "web"
    metadata: dict[str, Any] = field(default_factory=dict)
    received_at: datetime | None = None


@dataclass(frozen=True)
class Routed:
    ticket: Ticket
    decision: Decision
    duplicate: bool


def initial_state(ticket: Ticket) -> RouteState:
    """A graph run's input for a stored ticket."""
    return RouteState(
        ticket=TicketInput(
            ticket_id=str(ticket.id),
            text=ticket_text(ticket.subject, ticket.body),
            channel=ticket.channel,
            source=ticket.source,
            customer_id=ticket.customer_id,
            tenant_id=str(ticket.tenant_id) if ticket.tenant_id else None,
            received_at=ticket.received_at,
        ),
        trace_id=new_trace_id(),
        spans=[],
    )


def _ticket(row: dict[str, Any]) -> Ticket:
    return Ticket(**{("metadata_" if k == "metadata" else k): v for k, v in row.items()})


class TicketRouter:
    def __init__(
        self,
        *,
        pool: AsyncConnectionPool,
        sessions: async_sessionmaker[AsyncSession],
        graph: Graph,
        context: AgentContext,
        exporter: TraceExport | None = None,
        budgets: TenantBudgets | None = None,
        shadows: ShadowDispatch | None = None,
        duplicate_wait_s: float = 10.0,
    ) -> None:
        self._budgets = budgets
        self._shadows = shadows
        self._exporter = exporter or NoExport()
        self._pool = pool
        self._sessions = sessions
        self._graph = graph
        self._context = context
        self._duplicate_wait_s = duplicate_wait_s

    async def submit(self, sub: Submission, *, tenant_id: uuid.UUID | None) -> Routed:
        ticket, created = await self._accept(sub, tenant_id)
        if created:
            return Routed(ticket, await self.route(ticket), duplicate=False)
        return Routed(ticket, await self._first_decision(ticket), duplicate=True)

    async def _accept(self, sub: Submission, tenant_id: uuid.UUID | None) -> tuple[Ticket, bool]:
        values = {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "source": sub.source,
            "external_id": sub.external_id,
            "subject": sub.subject,
            "body": sub.body,
            "customer_id": sub.customer_id,
            "channel": sub.channel,
            "metadata": sub.metadata,
            "received_at": sub.received_at or datetime.now(UTC),
        }
        async with self._pool.connection() as conn:
            if await tickets.insert_new(conn, values):
                return _ticket(values), True
            existing = await tickets.row_by_external_id(
                conn, tenant_id, sub.source, sub.external_id
            )
        assert existing is not None
        return _ticket(existing), False

    async def _first_decision(self, ticket: Ticket) -> Decision:
        """The decision of an earlier submission: wait for it while it is being made."""
        deadline = asyncio.get_running_loop().time() + self._duplicate_wait_s
        while True:
            decision = await self.final_decision(ticket.id)
            if decision is not None:
                return decision
            if asyncio.get_running_loop().time() > deadline:
                # The first attempt died (crash, outage): finish the ticket here. The unique
                # final-decision index makes a late race with it harmless.
                return await self.route(ticket)
            await asyncio.sleep(0.05)

    async def route(self, ticket: Ticket) -> Decision:
        """Run the graph for a stored ticket and return its final decision."""
        state = initial_state(ticket)
        # Every log line written while the ticket is routed (model retries, fallbacks, the
        # recorder) carries its ids, so a JSON log line leads to the ticket and its trace.
        with structlog.contextvars.bound_contextvars(
            ticket_id=str(ticket.id),
            trace_id=state["trace_id"],
            tenant_id=state["ticket"].tenant_id,
        ):
            final = cast(RouteState, await self._graph.ainvoke(state, context=self._context))
        row = final.get("decision_row")
        assert row is not None, "the record step returned without a final decision"
        decision = Decision(**row)
        if row.get("created_at") is not None and str(row["id"]) == final.get("decision_id"):
            self._observe(decision, final)
            self._exporter.export(final, row)
            if self._shadows is not None:  # after the commit; never waits on the broker
                self._shadows.after_decision(ticket.id, decision.agent_version_id)
            if self._budgets is not None and decision.cost_usd:
                try:
                    await self._budgets.add(state["ticket"].tenant_id, float(decision.cost_usd))
                except Exception as exc:  # noqa: BLE001 - accounting must not fail a route
                    log.error("budget accounting failed for ticket %s: %s", ticket.id, exc)
        return decision

    @staticmethod
    def _observe(decision: Decision, final: RouteState) -> None:
        classification = final.get("classification")
        observe_decision(
            routed_to=decision.routed_to,
            mode=decision.mode,
            latency_ms=decision.latency_ms,
            classifier=decision.classifier,
            model=decision.model,
            prompt_tokens=decision.prompt_tokens,
            completion_tokens=decision.completion_tokens,
            cost_usd=float(decision.cost_usd),
            model_latency_ms=classification.latency_ms if classification else None,
        )

    async def final_decision(self, ticket_id: uuid.UUID) -> Decision | None:
        async with self._pool.connection() as conn:
            row = await decisions.final_row(conn, ticket_id)
        return Decision(**row) if row else None

    async def reconcile(self, *, older_than_s: float = 30.0, limit: int = 100) -> int:
        """Route tickets left without a final decision; the number finished."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        async with self._sessions() as session:
            pending = await tickets.without_final_decision(
                session, received_before=cutoff, limit=limit
            )
        for ticket in pending:
            log.warning("finishing ticket %s, which was left without a decision", ticket.id)
            await self.route(ticket)
        return len(pending)
