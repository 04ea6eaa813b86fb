"""``/v1/tickets``: submit a ticket and get its route; read a ticket with its trace."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Response

from agent.api.deps import RuntimeDep, TenantDep
from agent.api.schemas import (
    DecisionOut,
    ErrorOut,
    OutcomeOut,
    Probabilities,
    RouteOut,
    SpanOut,
    TicketCreate,
    TicketOut,
)
from agent.metrics import DUPLICATES
from agent.services.router import Routed, Submission
from agent.services.tickets import ticket_record

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])

ERRORS: dict[int | str, dict[str, Any]] = {
    r: {"model": ErrorOut} for r in (400, 401, 413, 415, 422, 429, 503)
}


def route_out(routed: Routed) -> RouteOut:
    d = routed.decision
    return RouteOut(
        ticket_id=routed.ticket.id,
        decision_id=d.id,
        routed_to=d.routed_to,
        queue=d.queue,
        priority=d.priority,
        mode=d.mode,
        confidence=d.confidence,
        needs_review=d.needs_review,
        reason=d.reason,
        probabilities=Probabilities(queue=d.queue_probs, priority=d.priority_probs),
        agent_version_id=d.agent_version_id,
        classifier=d.classifier,
        latency_ms=d.latency_ms,
        duplicate=routed.duplicate,
    )


@router.post(
    "",
    response_model=RouteOut,
    status_code=201,
    responses={
        200: {"model": RouteOut, "description": "A resubmission: the first decision."},
        **ERRORS,
    },
)
async def submit_ticket(
    payload: TicketCreate, runtime: RuntimeDep, tenant: TenantDep, response: Response
) -> RouteOut:
    """Route a ticket. The ticket is stored before any model call; resubmitting the same
    ``(source, external_id)`` returns the first decision (200) and never makes a second."""
    routed = await runtime.router.submit(Submission(**payload.model_dump()), tenant_id=tenant.id)
    if routed.duplicate:
        response.status_code = 200
        DUPLICATES.inc()
    return route_out(routed)


@router.get(
    "/{ticket_id}",
    response_model=TicketOut,
    responses={r: {"model": ErrorOut} for r in (401, 404, 422, 429, 503)},
)
async def read_ticket(ticket_id: uuid.UUID, runtime: RuntimeDep, tenant: TenantDep) -> TicketOut:
    """A ticket with its final decision, its outcome, and one trace span per graph node (the
    caller's own tickets only; neighbours of other tenants appear without their ids)."""
    async with runtime.sessions() as session:
        record = await ticket_record(session, ticket_id=ticket_id, tenant_id=tenant.id)
    if record is None:
        raise HTTPException(404, "no such ticket")
    ticket, decision, outcome = record.ticket, record.decision, record.outcome
    return TicketOut(
        id=ticket.id,
        source=ticket.source,
        external_id=ticket.external_id,
        subject=ticket.subject,
        body=ticket.body,
        customer_id=ticket.customer_id,
        channel=ticket.channel,
        metadata=ticket.metadata_,
        received_at=ticket.received_at,
        has_embedding=ticket.embedding is not None,
        decision=DecisionOut.model_validate(decision) if decision else None,
        outcome=OutcomeOut.model_validate(outcome) if outcome else None,
        spans=[
            SpanOut.model_validate(s).model_copy(update={"output": o})
            for s, o in zip(record.spans, record.outputs, strict=True)
        ],
    )
