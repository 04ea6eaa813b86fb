"""Opt-in actions on alerts: a kill switch for the segment (or global), boosted review.

Off unless configured. An alert at or above ``monitor_action_min_severity`` turns on what the
settings ask for, through the same audited operator functions people use (actor ``monitor``),
then tells every API process to reload its switches (Redis epoch). What was done is recorded
in the alert's ``actions``; an action already recorded is never repeated (tasks may run
twice). Nothing is switched back when the alert resolves unless ``monitor_auto_release`` is
on; a kill switch is then turned off only if the monitor was the last to set it.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.config import Settings
from agent.db import make_async_engine
from agent.embedded import resolve_database_url, resolve_redis_url
from agent.models import Alert
from agent.services import operators
from agent.services.control import ControlPlane
from agent.services.operators import Actor
from agent.services.tenants import switch_segment
from agent.switches import GLOBAL_SWITCH
from monitor.stats.windows import ALL, is_candidate_stream

MONITOR = Actor("monitor", "monitor")
_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Step:
    """One thing to do: ``kind`` on ``key`` (a switch key or a segment)."""

    kind: Literal["kill_switch", "boost_review", "release_kill_switch", "end_boost"]
    key: str
    rate: float | None = None


def plan(
    settings: Settings, *, segment: str, severity: str, event: str, done: dict[str, Any]
) -> tuple[list[Step], dict[str, str]]:
    """What to do for an alert event, and why some configured actions were skipped."""
    if event == "resolved":
        return _release(settings, done), {}
    if event not in ("opened", "escalated"):
        return [], {}
    if is_candidate_stream(segment):
        # a candidate's alert stops nothing in production: its verdict is `versions compare`
        return [], {"all": "candidate stream: judged by `versions compare` (and --auto)"}
    if _RANK.get(severity, 0) < _RANK[settings.monitor_action_min_severity]:
        return [], {}
    steps: list[Step] = []
    skipped: dict[str, str] = {}
    mode = settings.monitor_action_kill_switch
    if mode != "off" and "kill_switch" not in done:
        if mode == "global":
            steps.append(Step("kill_switch", GLOBAL_SWITCH))
        elif segment == ALL:
            skipped["kill_switch"] = "whole-stream alert: segment mode acts on segment alerts"
        else:
            steps.append(Step("kill_switch", segment))
    rate = settings.monitor_action_boost_review_rate
    if rate is not None and "boost_review" not in done:
        if segment == ALL:
            skipped["boost_review"] = "whole-stream alert: review boosts are per segment"
        else:
            steps.append(Step("boost_review", segment, rate))
    return steps, skipped


def _release(settings: Settings, done: dict[str, Any]) -> list[Step]:
    if not settings.monitor_auto_release:
        return []
    steps = []
    switch = done.get("kill_switch")
    if isinstance(switch, dict) and switch.get("key") and "released_at" not in switch:
        steps.append(Step("release_kill_switch", switch["key"]))
    boost = done.get("boost_review")
    if isinstance(boost, dict) and boost.get("segment") and "released_at" not in boost:
        steps.append(Step("end_boost", boost["segment"]))
    return steps


async def act(
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis | None,
    *,
    settings: Settings,
    alert_id: uuid.UUID,
    event: str,
) -> dict[str, Any]:
    """Carry out an alert event's actions; the alert's ``actions`` afterwards."""
    async with sessions() as session, session.begin():
        alert = await operators.get_alert(session, alert_id=alert_id)
        if alert is None:
            raise LookupError(f"no alert {alert_id}")
        done = dict(alert.actions or {})
        segment = await switch_segment(session, alert.segment)
        steps, skipped = plan(
            settings, segment=segment, severity=alert.severity, event=event, done=done
        )
        for step in steps:
            await _carry_out(session, step, alert, done)
        for kind, why in skipped.items():
            done.setdefault(kind, {"skipped": why})
        if steps or skipped:
            await operators.record_alert_actions(session, alert_id=alert.id, actions=done)
    if steps:
        await ControlPlane(sessions, redis).changed()
    return done


async def _carry_out(session: AsyncSession, step: Step, alert: Alert, done: dict[str, Any]) -> None:
    now = datetime.now(UTC).isoformat()
    reason = f"monitor: {alert.severity} alert {alert.id} on {alert.segment}"
    if step.kind == "kill_switch":
        await operators.set_kill_switch(
            session, key=step.key, enabled=True, reason=reason, actor=MONITOR
        )
        done["kill_switch"] = {"key": step.key, "enabled": True, "at": now, "actor": "monitor"}
    elif step.kind == "boost_review":
        assert step.rate is not None
        await operators.boost_review(
            session, segment=step.key, rate=step.rate, actor=MONITOR, reason=reason
        )
        done["boost_review"] = {"segment": step.key, "rate": step.rate, "at": now}
    elif step.kind == "release_kill_switch":
        if await _still_ours(session, step.key):
            await operators.set_kill_switch(
                session, key=step.key, enabled=False, reason=f"{reason} resolved", actor=MONITOR
            )
        done["kill_switch"] = {**done["kill_switch"], "released_at": now}
    else:
        await operators.end_review_boost(session, segment=step.key, actor=MONITOR)
        done["boost_review"] = {**done["boost_review"], "released_at": now}


async def _still_ours(session: AsyncSession, key: str) -> bool:
    """Whether the switch is on and the monitor was the last to set it."""
    switch = next((s for s in await operators.kill_switches(session) if s.key == key), None)
    return switch is not None and switch.enabled and switch.actor == MONITOR.name


def run_actions(settings: Settings, *, alert_id: uuid.UUID, event: str) -> dict[str, Any]:
    """:func:`act` from synchronous code (a task), with its own engine and Redis client."""

    async def body() -> dict[str, Any]:
        engine = make_async_engine(
            resolve_database_url(settings), settings, application_name="ticketwatch-monitor"
        )
        redis = Redis.from_url(resolve_redis_url(settings), socket_timeout=5)
        try:
            sessions = async_sessionmaker(engine, expire_on_commit=False)
            return await act(sessions, redis, settings=settings, alert_id=alert_id, event=event)
        finally:
            await redis.aclose()
            await engine.dispose()

    return asyncio.run(body())
