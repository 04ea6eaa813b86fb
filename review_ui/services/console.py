"""The operator console: kill switches, versions and labels, alerts. Actions go through
``agent.services.operators`` (audited) and tell every API process to reload."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agent import switches
from agent.models import AgentVersion, Alert, AuditEntry, Switch, Tenant
from agent.repositories import catalog, operations
from agent.services import operators
from agent.services.rollout import Comparison, compare_versions
from agent.services.tenants import list_tenants
from review_ui.repositories import console as reads


@dataclass
class VersionRow:
    version: AgentVersion
    labels: list[str]
    canary_percent: int | None
    decisions_24h: int
    shadow_percent: int | None = None


@dataclass
class ConsoleState:
    switches: list[Switch]
    switch_history: list[AuditEntry]
    versions: list[VersionRow]
    alerts: list[Alert]
    routed_24h: tuple[int, int, int]
    tenants: list[Tenant]

    @property
    def global_on(self) -> Switch | None:
        return next(
            (s for s in self.switches if s.key == switches.GLOBAL_SWITCH and s.enabled), None
        )

    @property
    def segments_on(self) -> list[Switch]:
        return [s for s in self.switches if s.key != switches.GLOBAL_SWITCH and s.enabled]


async def console_state(session: AsyncSession) -> ConsoleState:
    since = datetime.now(UTC) - timedelta(hours=24)
    return ConsoleState(
        switches=await operations.all_switches(session),
        switch_history=await operations.audit_entries(
            session, limit=15, action_prefix="kill_switch."
        ),
        versions=await version_rows(session, since),
        alerts=await reads.alerts(session, statuses=("open", "acknowledged"), limit=50),
        routed_24h=tuple(await reads.human_routed_share(session, since)),
        tenants=await list_tenants(session),
    )


async def version_rows(session: AsyncSession, since: datetime) -> list[VersionRow]:
    labels: dict[uuid.UUID, list[Any]] = {}
    for row in await catalog.labels(session):
        labels.setdefault(row.agent_version_id, []).append(row)
    counts = await reads.decisions_per_version(session, since)
    out = []
    for version in await catalog.list_versions(session):
        own = labels.get(version.id, [])
        canary = next((r.canary_percent for r in own if r.label == "canary"), None)
        shadow = next((r.canary_percent for r in own if r.label == "shadow"), None)
        out.append(
            VersionRow(
                version, sorted(r.label for r in own), canary, counts.get(version.id, 0), shadow
            )
        )
    return out


async def audit_page(
    session: AsyncSession, *, before_id: int | None, limit: int, action_prefix: str | None
) -> list[AuditEntry]:
    """Audit entries newest first, older than ``before_id``, optionally of one action kind."""
    return await reads.audit_page(
        session, before_id=before_id, limit=limit, action_prefix=action_prefix
    )


def switch_key(kind: str, value: str) -> str:
    """``global`` or ``kind:value`` from the console's form."""
    if kind == switches.GLOBAL_SWITCH:
        return switches.GLOBAL_SWITCH
    if kind not in switches.SEGMENT_KINDS:
        raise operators.OperatorError(f"unknown segment kind {kind!r}")
    return f"{kind}:{value.strip()}"


async def set_switch(
    session: AsyncSession, *, key: str, enabled: bool, reason: str, actor: operators.Actor
) -> None:
    if not enabled and not reason.strip():
        raise operators.OperatorError("say why the switch goes off (kept in the audit log)")
    await operators.set_kill_switch(
        session, key=key, enabled=enabled, reason=reason.strip(), actor=actor
    )


async def change_label(
    session: AsyncSession, *, action: str, semver: str, percent: int, actor: operators.Actor
) -> str:
    """promote | canary | shadow | rollback; the version production or the canary now serves."""
    if action == "promote":
        await operators.move_label(
            session, label="production", semver=semver, actor=actor, action="version.promote"
        )
        return semver
    if action == "canary":
        await operators.move_label(
            session,
            label="canary",
            semver=semver,
            actor=actor,
            canary_percent=percent,
            action="version.canary",
        )
        return semver
    if action == "shadow":
        return await operators.set_shadow(
            session, semver=semver or None, percent=percent, actor=actor
        )
    if action == "rollback":
        return await operators.rollback_production(session, actor=actor, to_semver=semver or None)
    raise operators.OperatorError(f"unknown version action {action!r}")


async def comparison(session: AsyncSession, *, candidate: str) -> Comparison:
    """``versions compare`` for the console (the CLI's defaults)."""
    return await compare_versions(session, candidate=candidate)


async def change_alert(
    session: AsyncSession, *, alert_id: uuid.UUID, action: str, note: str, actor: operators.Actor
) -> None:
    if action == "acknowledge":
        await operators.acknowledge_alert(session, alert_id=alert_id, actor=actor, note=note)
    elif action == "resolve":
        await operators.resolve_alert(session, alert_id=alert_id, actor=actor, note=note)
    else:
        raise operators.OperatorError(f"unknown alert action {action!r}")
