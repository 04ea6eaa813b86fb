"""Reads of the operator console: alerts, the audit log page by page, version labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Alert, AuditEntry, Decision


async def alerts(session: AsyncSession, *, statuses: tuple[str, ...], limit: int) -> list[Alert]:
    severity_rank = case({"critical": 0, "warning": 1}, value=Alert.severity, else_=2)
    stmt = (
        select(Alert)
        .where(Alert.status.in_(statuses))
        .order_by(severity_rank, Alert.opened_at.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def alerts_between(session: AsyncSession, *, since: datetime, until: datetime) -> list[Alert]:
    stmt = (
        select(Alert)
        .where(Alert.opened_at >= since, Alert.opened_at < until)
        .order_by(Alert.opened_at)
    )
    return list((await session.execute(stmt)).scalars())


async def audit_page(
    session: AsyncSession, *, before_id: int | None, limit: int, action_prefix: str | None
) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    if action_prefix:
        stmt = stmt.where(AuditEntry.action.startswith(action_prefix, autoescape=True))
    return list((await session.execute(stmt)).scalars())


async def decisions_per_version(session: AsyncSession, since: datetime) -> dict[Any, int]:
    stmt = (
        select(Decision.agent_version_id, func.count())
        .where(Decision.is_final, Decision.created_at >= since)
        .group_by(Decision.agent_version_id)
    )
    return {row[0]: int(row[1]) for row in (await session.execute(stmt)).all()}


async def human_routed_share(session: AsyncSession, since: datetime) -> Any:
    stmt = select(
        func.count(),
        func.count().filter(Decision.routed_to == "human_triage"),
        func.count().filter(Decision.mode == "kill_switch"),
    ).where(Decision.is_final, Decision.created_at >= since)
    return (await session.execute(stmt)).one()
