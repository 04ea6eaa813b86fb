"""Tenants (API clients)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Tenant


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
