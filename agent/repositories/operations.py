"""Kill switches, review boosts, the audit log, alert status changes and budget alerts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from agent.models import Alert, AuditEntry, ReviewBoost, Switch


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


def add_audit_entry(
    session: Session,
    *,
    actor: str,
    actor_role: str,
    action: str,
    target: str,
    details: dict[str, Any],
) -> None:
    """An audit-log entry. Synchronous (the monitor's tasks and commands); async callers use
    :func:`append_audit`, which runs this same function."""
    session.add(
        AuditEntry(
            actor=actor, actor_role=actor_role, action=action, target=target, details=details
        )
    )
    session.flush()


AUDIT_INSERT = (
    "INSERT INTO audit_log (actor, actor_role, action, target, details) VALUES (%s, %s, %s, %s, %s)"
)


def insert_audit_row(
    conn: psycopg.Connection[Any],
    *,
    actor: str,
    actor_role: str,
    action: str,
    target: str,
    details: dict[str, Any],
) -> None:
    """An audit-log entry on a sync psycopg connection (the bulk history loader's)."""
    conn.execute(AUDIT_INSERT, (actor, actor_role, action, target, Jsonb(details)))


async def append_audit(
    session: AsyncSession,
    *,
    actor: str,
    actor_role: str,
    action: str,
    target: str,
    details: dict[str, Any],
) -> None:
    await session.run_sync(
        add_audit_entry,
        actor=actor,
        actor_role=actor_role,
        action=action,
        target=target,
        details=details,
    )


async def audit_entries(
    session: AsyncSession, *, limit: int = 100, action_prefix: str | None = None
) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action_prefix:
        stmt = stmt.where(AuditEntry.action.startswith(action_prefix, autoescape=True))
    return list((await session.execute(stmt)).scalars())


async def active_boosts(session: AsyncSession) -> dict[str, tuple[float, datetime | None]]:
    """Segment → (boosted review-sampling rate, expiry), for boosts that have not expired."""
    rows = await session.execute(
        select(ReviewBoost.segment, ReviewBoost.rate, ReviewBoost.expires_at).where(
            (ReviewBoost.expires_at.is_(None)) | (ReviewBoost.expires_at > func.now())
        )
    )
    return {segment: (rate, expires) for segment, rate, expires in rows.all()}


async def set_boost(
    session: AsyncSession,
    *,
    segment: str,
    rate: float,
    expires_at: datetime | None,
    reason: str,
    actor: str,
) -> None:
    values = {
        "segment": segment,
        "rate": rate,
        "expires_at": expires_at,
        "reason": reason,
        "actor": actor,
    }
    stmt = insert(ReviewBoost).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["segment"],
        set_={k: stmt.excluded[k] for k in ("rate", "expires_at", "reason", "actor", "updated_at")},
    )
    await session.execute(stmt)


async def clear_boost(session: AsyncSession, segment: str) -> None:
    await session.execute(delete(ReviewBoost).where(ReviewBoost.segment == segment))


async def get_alert(session: AsyncSession, alert_id: uuid.UUID) -> Alert | None:
    """The alert, locked for update (an operator's move, or the monitor's actions: two workers
    never act on one alert at once)."""
    return await session.get(Alert, alert_id, with_for_update=True)


async def set_alert_actions(
    session: AsyncSession, alert_id: uuid.UUID, actions: dict[str, Any]
) -> None:
    """What the monitor's opt-in actions did on an alert."""
    await session.execute(update(Alert).where(Alert.id == alert_id).values(actions=actions))


async def set_alert_status(
    session: AsyncSession, alert_id: uuid.UUID, *, status: str, actor: str
) -> None:
    values: dict[str, Any] = {"status": status, "updated_at": func.now()}
    if status == "acknowledged":
        values["acknowledged_by"] = actor
    elif status == "resolved":
        values.update(resolved_by=actor, resolved_at=func.now())
    await session.execute(update(Alert).where(Alert.id == alert_id).values(**values))


# A budget alert's window: the budget is monthly, so 30 days (the alerts table's window column
# is the period an alert's evidence covers).
BUDGET_WINDOW_S = 30 * 86400

OPEN_BUDGET_ALERT = f"""
INSERT INTO alerts (id, rule, segment, window_size_s, status, severity, score, threshold,
                    last_window_end, clean_windows, evidence, explanation, actions)
SELECT %(id)s, %(rule)s::varchar, %(segment)s::varchar, {BUDGET_WINDOW_S}, 'open',
       %(severity)s::varchar, %(score)s::float8, %(threshold)s::float8,
       now(), 0, %(evidence)s, '{{}}', '{{}}'
WHERE NOT EXISTS (
    SELECT 1 FROM alerts WHERE rule = %(rule)s::varchar AND segment = %(segment)s::varchar
      AND opened_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"""


async def open_budget_alert(
    conn: psycopg.AsyncConnection[Any],
    *,
    rule: str,
    segment: str,
    severity: str,
    score: float,
    threshold: float | None,
    evidence: dict[str, Any],
) -> None:
    """Open an alert unless this rule and segment have one opened this calendar month (UTC);
    one autocommitted statement on the per-ticket pool."""
    await conn.execute(
        OPEN_BUDGET_ALERT,
        {
            "id": uuid.uuid4(),
            "rule": rule,
            "segment": segment,
            "severity": severity,
            "score": score,
            "threshold": threshold,
            "evidence": Jsonb(evidence),
        },
    )
