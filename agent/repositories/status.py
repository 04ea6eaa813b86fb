"""The database itself, not a table: whether it answers."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Decision, Review


async def ping(session: AsyncSession) -> None:
    """One round trip; raises when the database does not answer."""
    await session.execute(text("SELECT 1"))


async def open_reviews(session: AsyncSession) -> int:
    """Final decisions flagged or sampled for review that no reviewer has reviewed yet (the
    review queue's partial index covers the scan)."""
    reviewed = select(Review.id).where(Review.decision_id == Decision.id).exists()
    stmt = (
        select(func.count())
        .select_from(Decision)
        .where(Decision.is_final, Decision.sampled_for_review, ~reviewed)
    )
    return int((await session.execute(stmt)).scalar_one())
