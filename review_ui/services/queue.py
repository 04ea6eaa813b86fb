"""The review queue as the views page through it: rows, counts, filter choices, and which
ticket comes next. The queue's reads are :mod:`review_ui.repositories.queue`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Decision
from agent.repositories import decisions
from review_ui.repositories import queue as reads
from review_ui.repositories.queue import Cursor, QueueFilters, Status
from review_ui.services.estimates import review_estimates

__all__ = ["Cursor", "QueueFilters", "QueuePage", "Status", "next_open", "queue_page"]


@dataclass(frozen=True)
class QueuePage:
    rows: list[Any]  # up to ``limit`` rows; one more than a page tells that another follows
    flagged: int
    sampled: int
    options: dict[str, list[str]]
    estimates: Any


async def queue_page(
    session: AsyncSession,
    *,
    filters: QueueFilters,
    after: Cursor | None,
    limit: int,
    estimates_since: datetime,
    estimates_until: datetime,
) -> QueuePage:
    """A page of the queue after ``after``, its counts and filter choices, and the review
    estimates of the period."""
    rows = await reads.page(session, filters, after=after, limit=limit)
    flagged, sampled = await reads.counts(session, filters)
    return QueuePage(
        rows=list(rows),
        flagged=flagged,
        sampled=sampled,
        options=await reads.filter_options(session),
        estimates=await review_estimates(session, since=estimates_since, until=estimates_until),
    )


async def next_open(
    session: AsyncSession, *, decision: Decision | None = None, ticket_id: uuid.UUID | None = None
) -> uuid.UUID | None:
    """The ticket of the next open decision in queue order after ``decision`` (or after the
    final decision of ``ticket_id``); ``None`` when there is none."""
    if decision is None and ticket_id is not None:
        decision = await decisions.final_for(session, ticket_id)
    return await reads.next_open_after(session, decision) if decision else None
