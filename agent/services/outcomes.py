"""Recording the final route a ticket ended with (history for the agent and the monitor).

A ticket may have both a helpdesk outcome and a reviewer's verdict; neither replaces the other
unseen, and each counts for its own measure (docs/security.md, "Helpdesk outcomes and
reviews"):

- the reviewer's verdict (``reviews``, ``overrides``) is the human-disagreement measure: the
  override rate and the accuracy as reviewers judge it;
- the helpdesk's latest outcome is the ticket's final route (``outcomes``): history, the kNN
  neighbours and the monitor's labels (calibration). It replaces an outcome a review wrote, and
  the audit entry ``outcome.helpdesk`` says so, with the reviewer's route; a later review does
  not replace it (``agent``-side: :func:`agent.repositories.history.upsert`'s
  ``unless_source``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Decision
from agent.repositories import decisions, history, relabels, reviews, tickets
from agent.services.operators import Actor, audit
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
    reviewer_route: tuple[str, str] | None = None


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
    previous = await history.for_ticket(session, ticket.id)
    replaced = [previous.source, previous.queue, previous.priority] if previous else None
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
    reviewer = await reviewer_route(session, decision)
    await audit(
        session,
        Actor(f"tenant:{tenant_id}", "tenant"),
        "outcome.helpdesk",
        str(ticket.id),
        queue=queue,
        priority=priority,
        replaced=replaced,
        reviewer=list(reviewer) if reviewer else None,
        reviewer_disagrees=reviewer is not None and reviewer != (queue, priority),
    )
    routed_to = decision.routed_to if decision else None
    return OutcomeResult(ticket.id, queue, priority, routed_to, reviewer)


async def reviewer_route(
    session: AsyncSession, decision: Decision | None
) -> tuple[str, str] | None:
    """The route a reviewer gave the decision: the override's, or the agent's they confirmed."""
    review = await reviews.for_decision(session, decision.id) if decision else None
    if decision is None or review is None:
        return None
    if review.verdict == "overridden":
        overrides = await reviews.overrides_for_ticket(session, decision.ticket_id)
        mine = [o for o in overrides if o.decision_id == decision.id]
        if mine:
            return mine[-1].new_queue, mine[-1].new_priority
    if decision.queue is None or decision.priority is None:
        return None
    return decision.queue, decision.priority
