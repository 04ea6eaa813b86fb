"""Kill switches and the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import AuditEntry, Switch


async def enabled_switch_keys(session: AsyncSession) -> frozenset[str]:
    rows = await session.execute(select(Switch.key).where(Switch.enabled))
    return frozenset(rows.scalars())


async def all_switches(session: AsyncSession) -> list[Switch]:
    return list((await session.execute(select(Switch).order_by(Switch.key))).scalars())


async def set_switch(
    session: AsyncSession, *, key: str, enabled: bool, reason: str, actor: str
) -> None:
    values = {"key": key, "enabled": enabled, "reason": reason, "actor": actor}
    stmt = insert(Switch).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "enabled": enabled,
            "reason": reason,
            "actor": actor,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    await session.execute(stmt)


async def append_audit(
    session: AsyncSession,
    *,
    actor: str,
    actor_role: str,
    action: str,
    target: str,
    details: dict[str, Any],
) -> None:
    session.add(
        AuditEntry(
            actor=actor, actor_role=actor_role, action=action, target=target, details=details
        )
    )
    await session.flush()


async def audit_entries(
    session: AsyncSession, *, limit: int = 100, action_prefix: str | None = None
) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action_prefix:
        stmt = stmt.where(AuditEntry.action.startswith(action_prefix))
    return list((await session.execute(stmt)).scalars())
