"""A stored ticket as a tenant reads it back: with its final decision, outcome and trace."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Decision, Outcome, Ticket, TraceSpan
from agent.repositories import decisions, history, tickets
from agent.services.tenant_scope import visible_outputs


@dataclass(frozen=True)
class TicketRecord:
    ticket: Ticket
    decision: Decision | None
    outcome: Outcome | None
    spans: list[TraceSpan]
    outputs: list[dict[str, Any]]  # each span's output as the tenant may read it


async def ticket_record(
    session: AsyncSession, *, ticket_id: uuid.UUID, tenant_id: uuid.UUID | None
) -> TicketRecord | None:
    """The ticket with its final decision, outcome and spans; ``None`` when there is no such
    ticket or it belongs to another tenant (the caller cannot tell the two apart). Neighbours
    of other tenants appear in the spans' outputs without their ids."""
    ticket = await tickets.get(session, ticket_id)
    if ticket is None or ticket.tenant_id != tenant_id:
        return None
    spans = await decisions.spans_for(session, ticket_id)
    outputs = (
        await visible_outputs(session, tenant_id=tenant_id, spans=spans)
        if tenant_id is not None
        else [s.output for s in spans]
    )
    return TicketRecord(
        ticket=ticket,
        decision=await decisions.final_for(session, ticket_id),
        outcome=await history.for_ticket(session, ticket_id),
        spans=spans,
        outputs=outputs,
    )
