"""The review queue: flagged decisions first, then the sampled ones, newest first (keyset)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import AgentVersion, Decision, Review, Ticket

Status = Literal["open", "reviewed", "all"]
SNIPPET_CHARS = 180


@dataclass(frozen=True)
class QueueFilters:
    status: Status = "open"
    queue: str | None = None
    priority: str | None = None
    mode: str | None = None
    channel: str | None = None
    source: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last row's sort key."""

    needs_review: bool
    created_at: datetime
    decision_id: uuid.UUID


def _base(filters: QueueFilters) -> Any:
    reviewed = select(Review.id).where(Review.decision_id == Decision.id).exists()
    stmt = (
        select(Decision.id)
        .join(Ticket, Ticket.id == Decision.ticket_id)
        .outerjoin(AgentVersion, AgentVersion.id == Decision.agent_version_id)
        .where(Decision.is_final, Decision.sampled_for_review)
    )
    if filters.status == "open":
        stmt = stmt.where(~reviewed)
    elif filters.status == "reviewed":
        stmt = stmt.where(reviewed)
    conditions = {
        Decision.queue: filters.queue,
        Decision.priority: filters.priority,
        Decision.mode: filters.mode,
        Ticket.channel: filters.channel,
        Ticket.source: filters.source,
        AgentVersion.semver: filters.version,
    }
    for column, value in conditions.items():
        if value:
            stmt = stmt.where(column == value)
    return stmt


async def page(
    session: AsyncSession, filters: QueueFilters, *, after: Cursor | None, limit: int
) -> list[Any]:
    """Up to ``limit`` queue rows after ``after``, in queue order."""
    return list((await session.execute(page_statement(filters, after, limit))).all())


def page_statement(filters: QueueFilters, after: Cursor | None, limit: int) -> Any:
    stmt = _base(filters).with_only_columns(
        Decision.id,
        Decision.ticket_id,
        Decision.created_at,
        Decision.queue,
        Decision.priority,
        Decision.routed_to,
        Decision.mode,
        Decision.confidence,
        Decision.needs_review,
        Decision.reason,
        AgentVersion.semver,
        Ticket.subject,
        func.left(Ticket.body, SNIPPET_CHARS).label("snippet"),
        Ticket.channel,
        Ticket.source,
        select(Review.verdict)
        .where(Review.decision_id == Decision.id)
        .scalar_subquery()
        .label("verdict"),
    )
    if after is not None:
        key = tuple_(Decision.needs_review, Decision.created_at, Decision.id)
        stmt = stmt.where(key < tuple_(after.needs_review, after.created_at, after.decision_id))
    return stmt.order_by(
        Decision.needs_review.desc(), Decision.created_at.desc(), Decision.id.desc()
    ).limit(limit)


async def counts(session: AsyncSession, filters: QueueFilters) -> tuple[int, int]:
    """(flagged, sampled) decisions matching the filters."""
    stmt = _base(filters).with_only_columns(
        func.count().filter(Decision.needs_review), func.count().filter(~Decision.needs_review)
    )
    flagged, sampled = (await session.execute(stmt)).one()
    return int(flagged), int(sampled)


async def next_open_after(session: AsyncSession, decision: Decision) -> uuid.UUID | None:
    """The ticket that follows ``decision`` in the open queue (for review-and-next)."""
    rows = await page(
        session,
        QueueFilters(),
        after=Cursor(decision.needs_review, decision.created_at, decision.id),
        limit=1,
    )
    if not rows:
        rows = await page(session, QueueFilters(), after=None, limit=1)
    return rows[0].ticket_id if rows else None


async def filter_options(session: AsyncSession) -> dict[str, list[str]]:
    """Values the filters offer: modes, channels, sources and versions seen in decisions."""

    async def distinct(column: Any, *joins: Any) -> list[str]:
        stmt = select(column).distinct().where(and_(column.is_not(None)))
        for target, on in joins:
            stmt = stmt.join(target, on)
        return sorted(str(v) for v in (await session.execute(stmt.limit(200))).scalars())

    return {
        "mode": await distinct(Decision.mode),
        "queue": await distinct(Decision.queue),
        "channel": await distinct(Ticket.channel),
        "source": await distinct(Ticket.source),
        "version": await distinct(AgentVersion.semver),
    }
