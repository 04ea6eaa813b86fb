"""Tenants (API clients)."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from sqlalchemy import literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Tenant

# A tenant's name for the monitor's ``tenant:<slug>`` segments, as SQL over ``tenants n``: its
# slug, or for a tenant without one (its portal was never enabled) its name made a slug as
# agent.services.portal.slug_of does; NULL when the name has no letter or digit.
SEGMENT_SLUG = (
    "COALESCE(n.slug, NULLIF(btrim(left(btrim(regexp_replace(lower(n.name), '[^a-z0-9]+', '-', "
    "'g'), '-'), 63), '-'), ''))"
)


async def by_segment_slug(session: AsyncSession, slug: str) -> Tenant | None:
    """The tenant a ``tenant:<slug>`` segment of the monitor names."""
    n = Tenant.__table__.alias("n")
    stmt = select(n.c.id).where(literal_column(SEGMENT_SLUG) == slug).limit(1)
    tenant_id = (await session.execute(stmt)).scalar_one_or_none()
    return None if tenant_id is None else await session.get(Tenant, tenant_id)


async def by_key_hash(session: AsyncSession, key_hash: str) -> Tenant | None:
    stmt = select(Tenant).where(Tenant.api_key_hash == key_hash, Tenant.disabled_at.is_(None))
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_name(session: AsyncSession, name: str) -> Tenant | None:
    return (await session.execute(select(Tenant).where(Tenant.name == name))).scalar_one_or_none()


async def add(session: AsyncSession, tenant: Tenant) -> Tenant:
    session.add(tenant)
    await session.flush()
    return tenant


async def list_all(session: AsyncSession) -> list[Tenant]:
    return list((await session.execute(select(Tenant).order_by(Tenant.name))).scalars())


async def monthly_budget_usd(
    conn: psycopg.AsyncConnection[Any], tenant_id: uuid.UUID
) -> float | None:
    """The tenant's monthly model budget on the per-ticket pool (None: no cap, or no tenant)."""
    cur = await conn.execute("SELECT monthly_budget_usd FROM tenants WHERE id = %s", (tenant_id,))
    row = await cur.fetchone()
    return float(row[0]) if row and row[0] is not None else None


async def by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    stmt = select(Tenant).where(Tenant.slug == slug)
    return (await session.execute(stmt)).scalar_one_or_none()
