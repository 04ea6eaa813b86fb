"""Everything the ticket page shows: the facts of one decision, not a summary of them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Decision, Outcome, Override, Ticket, TraceSpan
from agent.repositories import catalog, decisions, history, reviews, tickets
from agent.taxonomy import PRIORITIES, Taxonomy
from review_ui.repositories import tickets as ticket_reads
from review_ui.services.review import taxonomy_for


@dataclass(frozen=True)
class Neighbour:
    ticket_id: str
    distance: float
    queue: str | None  # the outcome when it was retrieved
    priority: str | None
    subject: str = ""
    body: str = ""
    outcome_now: str | None = None  # "queue / priority" today, when it has changed since


@dataclass
class TicketPage:
    ticket: Ticket
    decision: Decision | None
    version: str | None
    outcome: Outcome | None
    spans: list[TraceSpan]
    neighbours: list[Neighbour]
    queue_probs: list[tuple[str, float]]
    priority_probs: list[tuple[str, float]]
    overrides: list[Override]
    review: Any | None
    taxonomy: Taxonomy | None
    queue_choices: list[str] = field(default_factory=list)
    priority_choices: tuple[str, ...] = PRIORITIES


def _sorted_probs(probs: dict[str, Any]) -> list[tuple[str, float]]:
    return sorted(((k, float(v)) for k, v in probs.items()), key=lambda kv: -kv[1])


async def ticket_page(session: AsyncSession, ticket_id: uuid.UUID) -> TicketPage | None:
    ticket = await tickets.get(session, ticket_id)
    if ticket is None:
        return None
    decision = await decisions.final_for(session, ticket_id)
    spans = await decisions.spans_for(session, ticket_id)
    version = (
        await catalog.get_version(session, decision.agent_version_id)
        if decision and decision.agent_version_id
        else None
    )
    taxonomy = await taxonomy_for(session, decision) if decision else None
    return TicketPage(
        ticket=ticket,
        decision=decision,
        version=version.semver if version else None,
        outcome=await history.for_ticket(session, ticket_id),
        spans=spans,
        neighbours=await _neighbours(session, spans),
        queue_probs=_sorted_probs(decision.queue_probs) if decision else [],
        priority_probs=_sorted_probs(decision.priority_probs) if decision else [],
        overrides=await reviews.overrides_for_ticket(session, ticket_id),
        review=await ticket_reads.review_with_reviewer(session, decision.id) if decision else None,
        taxonomy=taxonomy,
        queue_choices=list(taxonomy.queue_names) if taxonomy else [],
    )


async def _neighbours(session: AsyncSession, spans: list[TraceSpan]) -> list[Neighbour]:
    """The neighbours the retrieve node returned, with their text and today's outcome."""
    retrieve = next((s for s in spans if s.name == "retrieve"), None)
    listed = (retrieve.output or {}).get("neighbours", []) if retrieve else []
    ids = []
    for n in listed:
        try:
            ids.append(uuid.UUID(str(n.get("ticket_id"))))
        except ValueError:
            continue
    found = {row.id: row for row in await ticket_reads.neighbour_rows(session, ids)}
    out = []
    for n in listed:
        row = found.get(_uuid_or_none(n.get("ticket_id")))
        now = f"{row.queue} / {row.priority}" if row is not None and row.queue else None
        then = f"{n.get('queue')} / {n.get('priority')}"
        out.append(
            Neighbour(
                ticket_id=str(n.get("ticket_id")),
                distance=float(n.get("distance") or 0.0),
                queue=n.get("queue"),
                priority=n.get("priority"),
                subject=row.subject if row is not None else "",
                body=row.body if row is not None else "",
                outcome_now=now if now and now != then else None,
            )
        )
    return out


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
