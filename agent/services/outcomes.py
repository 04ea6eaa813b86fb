"""Recording the final route a ticket ended with (history for the agent and the monitor)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agent.repositories import decisions, history, relabels, tickets
from agent.taxonomy import Taxonomy


class OutcomeError(ValueError):
    """The outcome names an unknown ticket or a route outside the taxonomy."""

    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


@dataclass(frozen=True)
class OutcomeResult:
    ticket_id: uuid.UUID
    queue: str
    priority: str
    agent_routed_to: str | None


async def record_helpdesk_outcome(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    queue: str,
    priority: str,
    taxonomy: Taxonomy | None,
    ticket_id: uuid.UUID | None = None,
    source: str | None = None,
    external_id: str | None = None,
    recorded_at: datetime | None = None,
) -> OutcomeResult:
    if ticket_id is not None:
        ticket = await tickets.get(session, ticket_id)
    else:
        assert source is not None and external_id is not None
        ticket = await tickets.by_external_id(session, tenant_id, source, external_id)
    if ticket is None or ticket.tenant_id != tenant_id:
        raise OutcomeError("no such ticket", not_found=True)
    if taxonomy is not None and queue not in taxonomy.queue_names:
        raise OutcomeError(
            f"queue {queue!r} is not in taxonomy {taxonomy.name} "
            f"({', '.join(taxonomy.queue_names)})"
        )
    await history.upsert(
        session,
        ticket_id=ticket.id,
        queue=queue,
        priority=priority,
        source="helpdesk",
        recorded_by=f"tenant:{tenant_id}",
        recorded_at=recorded_at,
    )
    if taxonomy is not None:  # history migrated into it: its versions read the route there too
        await relabels.record_under(
            session,
            taxonomy_hash=taxonomy.content_hash,
            ticket_id=ticket.id,
            queue=queue,
            priority=priority,
            source="helpdesk",
            recorded_at=recorded_at,
        )
    decision = await decisions.final_for(session, ticket.id)
    return OutcomeResult(ticket.id, queue, priority, decision.routed_to if decision else None)
