"""Retrieval of historical outcomes for the graph (``NeighbourStore`` on pgvector)."""

from __future__ import annotations

import uuid

import numpy as np
from psycopg_pool import AsyncConnectionPool

from agent.classify.base import Neighbour
from agent.repositories import history


def ticket_text(subject: str, body: str) -> str:
    """The text the agent reads: subject and body."""
    return f"{subject.strip()}\n{body.strip()}".strip()


class PgNeighbourStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def nearest(
        self, *, embedding: np.ndarray, k: int, exclude_ticket_id: str
    ) -> list[Neighbour]:
        async with self._pool.connection() as conn:
            rows = await history.nearest_rows(
                conn, embedding=embedding, k=k, exclude=uuid.UUID(exclude_ticket_id)
            )
        return [
            Neighbour(
                ticket_id=str(tid),
                text=ticket_text(subject, body),
                queue=queue,
                priority=priority,
                distance=float(distance),
            )
            for tid, queue, priority, subject, body, distance in rows
        ]
