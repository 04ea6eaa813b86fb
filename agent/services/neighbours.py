"""Retrieval of historical outcomes for the graph (``NeighbourStore`` on pgvector)."""

from __future__ import annotations

import uuid

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.classify.base import Neighbour
from agent.repositories import history


def ticket_text(subject: str, body: str) -> str:
    """The text the agent reads: subject and body."""
    return f"{subject.strip()}\n{body.strip()}".strip()


class PgNeighbourStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def nearest(
        self, *, embedding: np.ndarray, k: int, exclude_ticket_id: str
    ) -> list[Neighbour]:
        async with self._sessions() as session, session.begin():
            rows = await history.nearest(
                session, embedding=embedding, k=k, exclude_ticket_id=uuid.UUID(exclude_ticket_id)
            )
        return [
            Neighbour(
                ticket_id=str(r.ticket_id),
                text=ticket_text(r.subject, r.body),
                queue=r.queue,
                priority=r.priority,
                distance=float(r.distance),
            )
            for r in rows
        ]
