"""Operator actions: kill switches and version labels. Every action is audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agent import switches
from agent.models import AgentVersion, Alert, Switch, VersionLabel
from agent.repositories import catalog, operations


class OperatorError(ValueError):
    """An operator action that cannot be done as asked; the message says why."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a user of the UI, the CLI's operator, or the monitor."""

    name: str
    role: str


async def audit(
    session: AsyncSession, actor: Actor, action: str, target: str, **details: Any
) -> None:
    await operations.append_audit(
        session,
        actor=actor.name,
        actor_role=actor.role,
        action=action,
        target=target,
        details=details,
    )


async def set_kill_switch(
    session: AsyncSession, *, key: str, enabled: bool, reason: str, actor: Actor
) -> None:
    """Turn a kill switch on or off. ``key`` is ``global`` or ``<segment kind>:<value>``."""
    if not switches.is_key(key):
        raise OperatorError(
            f"invalid switch {key!r}: use 'global' or channel:/source:/tenant:/queue:/priority:"
            "<value>"
        )
    if enabled and not reason.strip():
        raise OperatorError("turning a kill switch on needs a reason")
    await operations.set_switch(session, key=key, enabled=enabled, reason=reason, actor=actor.name)
    await audit(
        session, actor, "kill_switch.on" if enabled else "kill_switch.off", key, reason=reason
    )


async def kill_switches(session: AsyncSession) -> list[Switch]:
    """Every kill switch ever set, on or off, by key."""
    return await operations.all_switches(session)


async def versions_with_labels(
    session: AsyncSession,
) -> tuple[list[AgentVersion], list[VersionLabel]]:
    """Every agent version (newest first) and every label pointing at one."""
    return await catalog.list_versions(session), await catalog.labels(session)


async def version_or_error(session: AsyncSession, semver: str) -> AgentVersion:
    version = await catalog.version_by_semver(session, semver)
    if version is None:
        raise OperatorError(f"no agent version {semver!r}")
    return version


async def move_label(
    session: AsyncSession,
    *,
    label: str,
    semver: str,
    actor: Actor,
    canary_percent: int = 0,
    action: str = "version.label",
    **details: Any,
) -> None:
    """Point a label at a version (promote, roll back, set the canary); ``details`` go to the
    audit entry with it."""
    if label not in ("production", "canary", "shadow"):
        raise OperatorError(f"unknown label {label!r}")
    if not 0 <= canary_percent <= 100:
        raise OperatorError("canary percent must be between 0 and 100")
    version = await version_or_error(session, semver)
    previous = {row.label: row for row in await catalog.labels(session)}.get(label)
    await catalog.set_label(
        session, label=label, version_id=version.id, canary_percent=canary_percent, actor=actor.name
    )
    await audit(
        session,
        actor,
        action,
        label,
        version=semver,
        canary_percent=canary_percent,
        previous_version_id=str(previous.agent_version_id) if previous else None,
        **details,
    )


async def set_shadow(
    session: AsyncSession, *, semver: str | None, percent: int, actor: Actor
) -> str:
    """Run ``semver`` as the shadow on ``percent`` of live tickets; ``percent`` 0 turns the
    shadow off (``semver`` may then be omitted: the current shadow). The shadow's version."""
    current = {row.label: row for row in await catalog.labels(session)}.get("shadow")
    if semver is None:
        if current is None:
            raise OperatorError("no shadow version is set; name one")
        row = await catalog.get_version(session, current.agent_version_id)
        assert row is not None
        semver = row.semver
    production = {row.label: row for row in await catalog.labels(session)}.get("production")
    version = await version_or_error(session, semver)
    if percent > 0 and production is not None and production.agent_version_id == version.id:
        raise OperatorError(f"{semver} serves production; a shadow runs another version")
    await move_label(
        session,
        label="shadow",
        semver=semver,
        actor=actor,
        canary_percent=percent,
        action="version.shadow" if percent > 0 else "version.shadow_off",
    )
    return semver


async def rollback_production(
    session: AsyncSession, *, actor: Actor, to_semver: str | None = None
) -> str:
    """Move ``production`` back: to ``to_semver``, or to the version it pointed at before."""
    if to_semver is None:
        to_semver = await _previous_production(session)
    await move_label(
        session, label="production", semver=to_semver, actor=actor, action="version.rollback"
    )
    return to_semver


async def _previous_production(session: AsyncSession) -> str:
    for entry in await operations.audit_entries(session, limit=500, action_prefix="version."):
        previous = entry.details.get("previous_version_id")
        if entry.target == "production" and previous:
            row = await catalog.get_version(session, uuid.UUID(previous))
            if row is not None:
                return row.semver
    raise OperatorError("no earlier production version is recorded; name one to roll back to")


async def boost_review(
    session: AsyncSession,
    *,
    segment: str,
    rate: float,
    actor: Actor,
    reason: str,
    expires_at: datetime | None = None,
) -> None:
    """Sample a larger share of a segment's confident decisions for review (0 < rate <= 1)."""
    if not switches.is_key(segment):
        raise OperatorError(f"invalid segment {segment!r}")
    if not 0 < rate <= 1:
        raise OperatorError("a review rate must be in (0, 1]")
    await operations.set_boost(
        session, segment=segment, rate=rate, expires_at=expires_at, reason=reason, actor=actor.name
    )
    await audit(
        session,
        actor,
        "review.boost",
        segment,
        rate=rate,
        reason=reason,
        expires_at=expires_at.isoformat() if expires_at else None,
    )


async def end_review_boost(session: AsyncSession, *, segment: str, actor: Actor) -> None:
    await operations.clear_boost(session, segment)
    await audit(session, actor, "review.boost_end", segment)


async def acknowledge_alert(
    session: AsyncSession, *, alert_id: uuid.UUID, actor: Actor, note: str = ""
) -> None:
    """Someone is on it: the alert stays until it is resolved."""
    await _move_alert(session, alert_id, "acknowledged", actor, note, allowed_from=("open",))


async def resolve_alert(
    session: AsyncSession, *, alert_id: uuid.UUID, actor: Actor, note: str = ""
) -> None:
    """Close an alert by hand (the monitor also resolves alerts after clean windows)."""
    await _move_alert(
        session, alert_id, "resolved", actor, note, allowed_from=("open", "acknowledged")
    )


async def _move_alert(
    session: AsyncSession,
    alert_id: uuid.UUID,
    status: str,
    actor: Actor,
    note: str,
    *,
    allowed_from: tuple[str, ...],
) -> None:
    alert = await operations.get_alert(session, alert_id)
    if alert is None:
        raise OperatorError(f"no alert {alert_id}")
    if alert.status not in allowed_from:
        raise OperatorError(f"the alert is {alert.status}; it cannot be {status} now")
    await operations.set_alert_status(session, alert_id, status=status, actor=actor.name)
    await audit(
        session,
        actor,
        f"alert.{'acknowledge' if status == 'acknowledged' else 'resolve'}",
        str(alert_id),
        rule=alert.rule,
        segment=alert.segment,
        previous_status=alert.status,
        note=note,
    )


async def get_alert(session: AsyncSession, *, alert_id: uuid.UUID) -> Alert | None:
    return await operations.get_alert(session, alert_id)


async def record_alert_actions(
    session: AsyncSession, *, alert_id: uuid.UUID, actions: dict[str, Any]
) -> None:
    """What the monitor did about an alert (kept on the alert; each action is audited where it
    was done)."""
    await operations.set_alert_actions(session, alert_id, actions)
