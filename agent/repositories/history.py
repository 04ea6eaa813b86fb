"""Outcomes: the history of final routes that the agent retrieves and the monitor compares."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Row, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Outcome, Ticket

# Search breadth of the HNSW index scan (recall vs latency); iterative scans keep filtered
# queries (the ticket itself excluded) from returning fewer than k rows.
EF_SEARCH = 64


async def nearest(
    session: AsyncSession, *, embedding: np.ndarray, k: int, exclude_ticket_id: uuid.UUID | None
) -> list[Row[Any]]:
    """The k outcomes nearest to ``embedding`` by cosine distance, with their tickets' text."""
    await session.execute(text(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, k)}"))
    await session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    distance = Outcome.embedding.cosine_distance(embedding).label("distance")
    stmt = (
        select(
            Outcome.ticket_id,
            Outcome.queue,
            Outcome.priority,
            Ticket.subject,
            Ticket.body,
            distance,
        )
        .join(Ticket, Ticket.id == Outcome.ticket_id)
        .where(Outcome.embedding.is_not(None))
        .order_by(distance)
        .limit(k)
    )
    if exclude_ticket_id is not None:
        stmt = stmt.where(Outcome.ticket_id != exclude_ticket_id)
    return list((await session.execute(stmt)).all())


async def upsert(
    session: AsyncSession,
    *,
    ticket_id: uuid.UUID,
    queue: str,
    priority: str,
    source: str,
    recorded_by: str | None,
    recorded_at: datetime | None = None,
) -> None:
    """Record (or replace) a ticket's final route, copying the ticket's embedding."""
    embedding = select(Ticket.embedding).where(Ticket.id == ticket_id).scalar_subquery()
    values = {
        "ticket_id": ticket_id,
        "queue": queue,
        "priority": priority,
        "source": source,
        "recorded_by": recorded_by,
        "embedding": embedding,
        "recorded_at": recorded_at or func.now(),
    }
    stmt = insert(Outcome).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["ticket_id"], set_={k: stmt.excluded[k] for k in values if k != "ticket_id"}
    )
    await session.execute(stmt)


async def for_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> Outcome | None:
    return await session.get(Outcome, ticket_id)
