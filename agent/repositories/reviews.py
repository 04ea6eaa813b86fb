"""Reviews of decisions and the overrides that come with them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Decision, Override, Review, Ticket


async def add_review(session: AsyncSession, **values: Any) -> Review:
    row = Review(**values)
    session.add(row)
    await session.flush()
    return row


async def add_override(session: AsyncSession, **values: Any) -> Override:
    row = Override(**values)
    session.add(row)
    await session.flush()
    return row


async def for_decision(session: AsyncSession, decision_id: uuid.UUID) -> Review | None:
    stmt = select(Review).where(Review.decision_id == decision_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def overrides_for_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> list[Override]:
    stmt = select(Override).where(Override.ticket_id == ticket_id).order_by(Override.created_at)
    return list((await session.execute(stmt)).scalars())


async def reviewed_decisions(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    segment: tuple[str, str] | None = None,
) -> list[Any]:
    """Reviewed final decisions made in [since, until) with a prediction of the agent's:
    (decided_at, verdict, queue_correct, priority_correct, inclusion_prob)."""
    stmt = (
        select(
            Decision.created_at,
            Review.verdict,
            Review.queue_correct,
            Review.priority_correct,
            Review.inclusion_prob,
        )
        .join(Review, Review.decision_id == Decision.id)
        .where(
            Decision.is_final,
            Decision.queue.is_not(None),
            Decision.created_at >= since,
            Decision.created_at < until,
        )
        .order_by(Decision.created_at)
    )
    if segment is not None:
        stmt = _segment_filter(stmt, *segment)
    return list((await session.execute(stmt)).all())


def _segment_filter(stmt: Any, kind: str, value: str) -> Any:
    """Restrict a statement over ``decisions`` to a segment ``kind:value``."""
    if kind == "queue":
        return stmt.where(Decision.queue == value)
    if kind == "priority":
        return stmt.where(Decision.priority == value)
    columns: dict[str, Any] = {
        "channel": Ticket.channel,
        "source": Ticket.source,
        "tenant": Ticket.tenant_id,
    }
    if kind not in columns:
        raise ValueError(f"unknown segment kind {kind!r}")
    return stmt.join(Ticket, Ticket.id == Decision.ticket_id).where(columns[kind] == value)
