"""Retrieval of historical outcomes for the graph (``NeighbourStore`` on pgvector)."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
from psycopg_pool import AsyncConnectionPool

from agent.classify.base import Neighbour
from agent.graph.context import TenantOnly
from agent.repositories import history

# How long "history was not migrated into this taxonomy" is believed before asking again (a
# taxonomy that was migrated into stays so: that answer is kept).
UNMIGRATED_TTL_S = 30.0


def ticket_text(subject: str, body: str) -> str:
    """The text the agent reads: subject and body."""
    return f"{subject.strip()}\n{body.strip()}".strip()


class PgNeighbourStore:
    def __init__(
        self, pool: AsyncConnectionPool, *, recorded_before: datetime | None = None
    ) -> None:
        self._pool = pool
        self._label_sets: dict[str, tuple[uuid.UUID | None, float]] = {}
        self._recorded_before = recorded_before

    def as_of(self, at: datetime) -> PgNeighbourStore:
        """The same store seeing only outcomes recorded before ``at`` (a replay of the past)."""
        store = PgNeighbourStore(self._pool, recorded_before=at)
        store._label_sets = self._label_sets
        return store

    async def nearest(
        self,
        *,
        embedding: np.ndarray,
        k: int,
        exclude_ticket_id: str,
        taxonomy: str | None = None,
        tenant: TenantOnly | None = None,
    ) -> list[Neighbour]:
        scope = None
        if tenant is not None:
            scope = history.TenantScope(uuid.UUID(tenant.tenant_id) if tenant.tenant_id else None)
        async with self._pool.connection() as conn:
            labels = None
            if taxonomy is not None:
                labels = await self._label_set(conn, taxonomy)
            rows = await history.nearest_rows(
                conn,
                embedding=embedding,
                k=k,
                exclude=uuid.UUID(exclude_ticket_id),
                labels=labels,
                tenant=scope,
                recorded_before=self._recorded_before,
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

    async def _label_set(
        self, conn: psycopg.AsyncConnection[Any], taxonomy: str
    ) -> uuid.UUID | None:
        known = self._label_sets.get(taxonomy)
        now = time.monotonic()
        if known is not None and (known[0] is not None or now - known[1] < UNMIGRATED_TTL_S):
            return known[0]
        labels = await history.label_set(conn, taxonomy)
        self._label_sets[taxonomy] = (labels, now)
        return labels
