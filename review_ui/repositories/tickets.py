"""What the ticket page reads besides the agent's own repositories."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Outcome, Review, Ticket, User


async def neighbour_rows(session: AsyncSession, ticket_ids: list[uuid.UUID]) -> list[Any]:
    """Each neighbour's text and its outcome as it stands now."""
    if not ticket_ids:
        return []
    stmt = (
        select(
            Ticket.id,
            Ticket.subject,
            func.left(Ticket.body, 400).label("body"),
            Outcome.queue,
            Outcome.priority,
            Outcome.source,
        )
        .outerjoin(Outcome, Outcome.ticket_id == Ticket.id)
        .where(Ticket.id.in_(ticket_ids))
    )
    return list((await session.execute(stmt)).all())


async def review_with_reviewer(session: AsyncSession, decision_id: uuid.UUID) -> Any | None:
    stmt = (
        select(Review.verdict, Review.created_at, User.username)
        .join(User, User.id == Review.reviewer_id)
        .where(Review.decision_id == decision_id)
    )
    return (await session.execute(stmt)).one_or_none()
