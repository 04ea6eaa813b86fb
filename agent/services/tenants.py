"""Tenants and their API keys.

API keys are 256-bit random tokens, so a fast hash (SHA-256) is the right storage: slow password
hashes protect low-entropy secrets and would cost milliseconds per request here.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.models import Tenant
from agent.repositories import tenants
from agent.services.operators import Actor, OperatorError, audit

KEY_PREFIX = "tw_"


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(frozen=True)
class TenantRef:
    id: uuid.UUID
    name: str
    rate_limit_per_minute: int


async def list_tenants(session: AsyncSession) -> list[Tenant]:
    return await tenants.list_all(session)


async def create_tenant(
    session: AsyncSession,
    *,
    name: str,
    actor: Actor,
    rate_limit_per_minute: int = 6000,
    monthly_budget_usd: float | None = None,
) -> tuple[Tenant, str]:
    """Create a tenant; returns it with its API key, which is shown this once only.
    ``monthly_budget_usd`` caps its model cost per calendar month (None: no cap)."""
    if await tenants.by_name(session, name) is not None:
        raise OperatorError(f"tenant {name!r} exists already")
    if monthly_budget_usd is not None and monthly_budget_usd <= 0:
        raise OperatorError("a monthly budget must be positive")
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    tenant = await tenants.add(
        session,
        Tenant(
            name=name,
            api_key_hash=hash_key(api_key),
            api_key_prefix=api_key[:10],
            rate_limit_per_minute=rate_limit_per_minute,
            monthly_budget_usd=Decimal(str(monthly_budget_usd))
            if monthly_budget_usd is not None
            else None,
        ),
    )
    await audit(
        session,
        actor,
        "tenant.create",
        name,
        key_prefix=tenant.api_key_prefix,
        monthly_budget_usd=monthly_budget_usd,
    )
    return tenant, api_key


class TenantAuthenticator:
    """Looks API keys up by hash, caching hits briefly (disabling a tenant takes ≤ ttl)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl_s: float = 30.0) -> None:
        self._sessions = sessions
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, TenantRef | None]] = {}

    async def authenticate(self, api_key: str) -> TenantRef | None:
        digest = hash_key(api_key)
        hit = self._cache.get(digest)
        if hit is not None and time.monotonic() - hit[0] < self._ttl_s:
            return hit[1]
        async with self._sessions() as session:
            row = await tenants.by_key_hash(session, digest)
        ref = TenantRef(row.id, row.name, row.rate_limit_per_minute) if row else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (time.monotonic(), ref)
        return ref


async def switch_segment(session: AsyncSession, segment: str) -> str:
    """The kill-switch (and review-boost) segment of a monitor segment: the monitor names a
    tenant ``tenant:<slug>``, switches name it ``tenant:<id>``; other kinds are the same."""
    kind, _, value = segment.partition(":")
    if kind != "tenant":
        return segment
    tenant = await tenants.by_segment_slug(session, value)
    return segment if tenant is None else f"tenant:{tenant.id}"
