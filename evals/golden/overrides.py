"""Reviewed overrides as golden-set candidates: the route a reviewer gave a ticket.

Each overridden ticket contributes its latest override. Tags keep the provenance: the
reviewer's reason, what the agent had said, the channel, and ``ticket:<id>``, by which an
eval excludes the ticket itself from retrieval (its outcome may already be in history).
Candidates are for people to review before ``eval build-golden`` turns them into a set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agent.services.neighbours import ticket_text
from agent.taxonomy import Taxonomy
from evals import repository
from evals.golden.cases import CHANNEL_TAG, TICKET_TAG, GoldenCase


@dataclass(frozen=True)
class OverrideCandidates:
    cases: list[GoldenCase]
    outside_taxonomy: int  # overrides to a queue the taxonomy does not have (left out)


async def override_candidates(
    session: AsyncSession,
    *,
    taxonomy: Taxonomy,
    since: datetime | None = None,
    reasons: list[str] | None = None,
) -> OverrideCandidates:
    rows = await repository.latest_overrides(session, since=since, reasons=reasons)
    cases, outside = [], 0
    for row in rows:
        if row.new_queue not in taxonomy.queue_names:
            outside += 1
            continue
        tags = (
            "source:override",
            f"reason:{row.reason_category}",
            f"agent:{row.old_queue or 'none'}/{row.old_priority or 'none'}",
            f"{CHANNEL_TAG}:{row.channel}",
            f"{TICKET_TAG}:{row.ticket_id}",
        )
        cases.append(
            GoldenCase(ticket_text(row.subject, row.body), row.new_queue, row.new_priority, tags)
        )
    return OverrideCandidates(cases, outside)
