"""Tickets.

Two access paths: the per-ticket path (a submission's insert and its duplicate lookup) runs on
psycopg's autocommit pool with the column lists of :mod:`agent.models.tickets` (SQLAlchemy's
async ORM cost more CPU than the rest of a request, measured by ``ticketwatch bench routing``);
everything else takes an ORM session.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Decision, Outcome, Ticket
from agent.models.tickets import TICKET_COLUMNS, TICKET_INSERT_COLUMNS

INSERT_NEW = (
    f"INSERT INTO tickets ({', '.join(TICKET_INSERT_COLUMNS)}) "
    f"VALUES ({', '.join(f'%({c})s' for c in TICKET_INSERT_COLUMNS)}) "
    "ON CONFLICT (tenant_id, source, external_id) DO NOTHING RETURNING id"
)
# "tenant_id = NULL" matches nothing, and IS NOT DISTINCT FROM cannot use the unique index.
_BY_PAIR = "source = %(source)s AND external_id = %(external_id)s"
ROW_BY_EXTERNAL_ID = (
    f"SELECT {', '.join(TICKET_COLUMNS)} FROM tickets "
    f"WHERE tenant_id = %(tenant_id)s AND {_BY_PAIR}"
)
ROW_BY_EXTERNAL_ID_OF_NO_TENANT = (
    f"SELECT {', '.join(TICKET_COLUMNS)} FROM tickets WHERE tenant_id IS NULL AND {_BY_PAIR}"
)


async def insert_new(conn: psycopg.AsyncConnection[Any], values: dict[str, Any]) -> bool:
    """Store a ticket unless its tenant's ``(source, external_id)`` is known; True when it was
    new. ``values`` has every column of ``TICKET_INSERT_COLUMNS`` (one autocommitted
    statement)."""
    cur = await conn.execute(INSERT_NEW, {**values, "metadata": Jsonb(values["metadata"])})
    return await cur.fetchone() is not None


async def row_by_external_id(
    conn: psycopg.AsyncConnection[Any],
    tenant_id: uuid.UUID | None,
    source: str,
    external_id: str,
) -> dict[str, Any] | None:
    """The tenant's ticket with this pair (a NULL tenant's when ``tenant_id`` is None), as its
    ``TICKET_COLUMNS`` keyed by column name, or ``None``."""
    cur = conn.cursor(row_factory=dict_row)
    sql = ROW_BY_EXTERNAL_ID_OF_NO_TENANT if tenant_id is None else ROW_BY_EXTERNAL_ID
    await cur.execute(sql, {"tenant_id": tenant_id, "source": source, "external_id": external_id})
    return await cur.fetchone()


async def by_external_id(
    session: AsyncSession, tenant_id: uuid.UUID | None, source: str, external_id: str
) -> Ticket | None:
    """The tenant's ticket with this pair (a NULL tenant's when ``tenant_id`` is None)."""
    tenant = Ticket.tenant_id.is_(None) if tenant_id is None else Ticket.tenant_id == tenant_id
    stmt = select(Ticket).where(tenant, Ticket.source == source, Ticket.external_id == external_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get(session: AsyncSession, ticket_id: uuid.UUID) -> Ticket | None:
    return await session.get(Ticket, ticket_id)


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
