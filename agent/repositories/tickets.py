"""Tickets."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Decision, Outcome, Ticket


async def insert_if_new(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    """Insert a ticket unless its tenant's ``(source, external_id)`` exists; the new id, or
    ``None``."""
    stmt = (
        insert(Ticket)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "source", "external_id"])
        .returning(Ticket.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_external_id(
    session: AsyncSession, tenant_id: uuid.UUID | None, source: str, external_id: str
) -> Ticket | None:
    """The tenant's ticket with this pair (a NULL tenant's when ``tenant_id`` is None)."""
    tenant = Ticket.tenant_id.is_(None) if tenant_id is None else Ticket.tenant_id == tenant_id
    stmt = select(Ticket).where(tenant, Ticket.source == source, Ticket.external_id == external_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get(session: AsyncSession, ticket_id: uuid.UUID) -> Ticket | None:
    return await session.get(Ticket, ticket_id)


async def set_embedding(
    session: AsyncSession, ticket_id: uuid.UUID, embedding: np.ndarray, model: str
) -> None:
    await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id)
        .values(embedding=embedding, embedding_model=model)
    )


async def without_final_decision(
    session: AsyncSession, *, received_before: datetime, limit: int
) -> list[Ticket]:
    """Accepted tickets that have no final decision yet (a crash or outage interrupted them).
    Tickets loaded as history never went through the agent and are not among them."""
    has_final = (
        select(Decision.id).where(Decision.ticket_id == Ticket.id, Decision.is_final).exists()
    )
    is_history = (
        select(Outcome.ticket_id)
        .where(Outcome.ticket_id == Ticket.id, Outcome.source == "history")
        .exists()
    )
    stmt = (
        select(Ticket)
        .where(Ticket.created_at < received_before, ~has_final, ~is_history)
        .order_by(Ticket.created_at)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def of_other_tenants(
    session: AsyncSession, ticket_ids: set[uuid.UUID], tenant_id: uuid.UUID
) -> set[uuid.UUID]:
    """Those of ``ticket_ids`` that belong to a tenant other than ``tenant_id`` (history loaded
    without a tenant belongs to none)."""
    if not ticket_ids:
        return set()
    stmt = select(Ticket.id).where(
        Ticket.id.in_(ticket_ids), Ticket.tenant_id.is_not(None), Ticket.tenant_id != tenant_id
    )
    return set((await session.execute(stmt)).scalars())
