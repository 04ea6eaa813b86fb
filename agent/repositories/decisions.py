"""Decisions and their trace spans."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Decision, TraceSpan


async def insert_final(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    """Insert a final decision unless the ticket has one; the new id, or ``None``."""
    stmt = (
        pg_insert(Decision)
        .values(**values, is_final=True)
        .on_conflict_do_nothing(index_elements=["ticket_id"], index_where=text("is_final"))
        .returning(Decision.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def final_for(session: AsyncSession, ticket_id: uuid.UUID) -> Decision | None:
    stmt = select(Decision).where(Decision.ticket_id == ticket_id, Decision.is_final)
    return (await session.execute(stmt)).scalar_one_or_none()


async def insert_spans(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(TraceSpan), rows)


async def spans_for(session: AsyncSession, ticket_id: uuid.UUID) -> list[TraceSpan]:
    stmt = (
        select(TraceSpan)
        .where(TraceSpan.ticket_id == ticket_id)
        .order_by(TraceSpan.started_at, TraceSpan.id)
    )
    return list((await session.execute(stmt)).scalars())
