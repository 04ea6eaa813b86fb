"""Celery tasks: thin, named, idempotent. Ids and window bounds in, service calls, no SQL.

Each task owns its transaction (``session_scope``) and runs after its message is acked only
when it finished (``acks_late``); database errors are retried with backoff. Events of a
committed window (an alert opened, escalated, resolved) go on to ``monitor.act_on_alert``,
which runs the opt-in actions and then hands the event to ``monitor.deliver_webhook``; an
opened alert then goes to ``monitor.attribute_alert`` (world drifted or change regressed).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Task, chain
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker

from agent.config import Settings, get_settings
from agent.db import async_session_scope, make_async_engine, session_scope
from agent.embedded import resolve_database_url, resolve_redis_url
from agent.services.control import ControlPlane
from agent.services.rollout import guard_serving_canary
from agent.services.shadow import ShadowBudgetSpent
from agent.services.shadow_dispatch import SHADOW_TASK
from agent.services.shadow_runtime import shadow_runtime
from monitor.services import attribution, compute, late_labels
from monitor.services.alert_lifecycle import AlertEvent
from monitor.stats.windows import Window, closed_window, window_ending
from monitor.worker import actions, metrics, webhooks
from monitor.worker.actions import MONITOR
from monitor.worker.celery_app import QUEUE, app

log = logging.getLogger(__name__)
DB_ERRORS = (OperationalError, DBAPIError, ConnectionError)
# How many windows before the just-closed one a scheduling run checks for ones never scheduled.
CATCH_UP_WINDOWS = 8


@app.task(
    name="monitor.schedule_windows",
    acks_late=True,
    autoretry_for=DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=8,
)
def schedule_windows(window_size_s: int, at: str | None = None) -> int:
    """Enqueue ``monitor.compute_window`` for each segment of the just-closed window, and of
    any of the ``CATCH_UP_WINDOWS`` before it that was never scheduled (once per window, however
    often beat or a person asks). Returns how many window-segments were enqueued."""
    settings = get_settings()
    now = datetime.fromisoformat(at) if at else datetime.now(UTC)
    # beat sends this ``grace`` after the window closed and the message expires a window
    # later: counting back the grace finds that window if the task waited less than a window.
    # A busy worker can let a message expire; the next run then catches the missed window up.
    latest = closed_window(window_size_s, now - timedelta(seconds=settings.monitor_window_grace_s))
    redis = Redis.from_url(resolve_redis_url(settings), socket_timeout=5)
    try:
        enqueued = 0
        for back in range(CATCH_UP_WINDOWS + 1):
            window = window_ending(
                window_size_s, latest.end - timedelta(seconds=back * window_size_s)
            )
            enqueued += _schedule_window(settings, redis, window, catching_up=back > 0)
        return enqueued
    finally:
        redis.close()


def _schedule_window(settings: Settings, redis: Redis, window: Window, *, catching_up: bool) -> int:
    key = f"ticketwatch:monitor:scheduled:{window.size_s}:{int(window.end.timestamp())}"
    scheduled_at = redis.get(key)
    if scheduled_at is not None:
        return _requeue_lost(settings, redis, key, window, scheduled_at) if catching_up else 0
    with session_scope() as session:
        segments = compute.segments_of(
            session, settings=settings, window=window, only_with_tickets=catching_up
        )
    ttl = max(3600, (CATCH_UP_WINDOWS + 2) * window.size_s)
    if not redis.set(key, str(time.time()), nx=True, ex=ttl):
        return 0
    _enqueue(window, segments)
    if segments:
        log.info(
            "scheduled %d segments of %s%s",
            len(segments),
            window.label,
            " (caught up)" if catching_up else "",
        )
    return len(segments)


def _requeue_lost(
    settings: Settings, redis: Redis, key: str, window: Window, scheduled_at: bytes | str
) -> int:
    """Schedule again the segments of a window scheduled ``monitor_requeue_after_s`` ago that
    still have no rows: their task died with its worker (a SIGKILLed worker's message returns
    only after the broker's visibility timeout, an hour). Computing is idempotent; the key's
    new time makes one scheduling run do it, not every run that sees the gap."""
    if time.time() - float(scheduled_at) < settings.monitor_requeue_after_s:
        return 0
    with session_scope() as session:
        missing = compute.uncomputed_segments(session, settings=settings, window=window)
    if not missing or redis.set(key, str(time.time()), xx=True, get=True, keepttl=True) != (
        scheduled_at
    ):
        return 0
    log.warning("scheduling %s again: %d segments were never computed", window.label, len(missing))
    _enqueue(window, missing)
    return len(missing)


def _enqueue(window: Window, segments: list[str]) -> None:
    for segment in segments:
        compute_window.apply_async((window.size_s, window.end.isoformat(), segment), queue=QUEUE)


@app.task(
    name="monitor.schedule_rejudgements",
    acks_late=True,
    autoretry_for=DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=8,
)
def schedule_rejudgements(window_size_s: int, horizon_s: int, at: str | None = None) -> int:
    """Enqueue ``monitor.rejudge_window`` for each segment judged at close of the window that
    closed ``horizon_s`` ago (and of the ``CATCH_UP_WINDOWS`` before it not yet re-judged at
    this horizon). Returns how many window-segments were enqueued."""
    settings = get_settings()
    now = datetime.fromisoformat(at) if at else datetime.now(UTC)
    back_to = now - timedelta(seconds=settings.monitor_window_grace_s + horizon_s)
    latest = closed_window(window_size_s, back_to)
    redis = Redis.from_url(resolve_redis_url(settings), socket_timeout=5)
    try:
        return sum(
            _schedule_rejudgement(
                redis,
                window_ending(window_size_s, latest.end - timedelta(seconds=back * window_size_s)),
                horizon_s,
            )
            for back in range(CATCH_UP_WINDOWS + 1)
        )
    finally:
        redis.close()


def _schedule_rejudgement(redis: Redis, window: Window, horizon_s: int) -> int:
    key = f"ticketwatch:monitor:rejudged:{window.size_s}:{horizon_s}:{int(window.end.timestamp())}"
    if redis.exists(key):
        return 0
    with session_scope() as session:
        segments = compute.judged_segments(session, window=window)
    # a window not judged at close yet (or without enough tickets) is looked at again next time
    if not segments or not redis.set(key, "1", nx=True, ex=(CATCH_UP_WINDOWS + 2) * window.size_s):
        return 0
    for segment in segments:
        rejudge_window.apply_async(
            (window.size_s, window.end.isoformat(), segment, horizon_s), queue=QUEUE
        )
    log.info("re-judging %d segments of %s on late labels", len(segments), window.label)
    return len(segments)


@app.task(
    name="monitor.rejudge_window",
    acks_late=True,
    autoretry_for=DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=8,
)
def rejudge_window(
    window_size_s: int, window_end: str, segment: str, horizon_s: int
) -> dict[str, Any]:
    """Judge a past window again on the labels known now; a window proved wrong opens an alert."""
    window = window_ending(window_size_s, datetime.fromisoformat(window_end))
    with session_scope() as session:
        report = late_labels.rejudge_window(
            session,
            settings=get_settings(),
            window=window,
            segment=segment,
            horizon_s=horizon_s,
            judged_at=datetime.now(UTC),
        )
    metrics.observe_rejudgement(report)
    dispatch(report.events)
    return report.summary()


@app.task(
    name="monitor.compute_window",
    acks_late=True,
    autoretry_for=DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=8,
)
def compute_window(window_size_s: int, window_end: str, segment: str) -> dict[str, Any]:
    """Compute one window of one segment; recomputing it upserts the same rows."""
    window = window_ending(window_size_s, datetime.fromisoformat(window_end))
    with session_scope() as session:
        report = compute.compute_window(
            session, settings=get_settings(), window=window, segment=segment
        )
    metrics.observe(report)
    dispatch(report.events)
    return report.summary()


def dispatch(events: list[AlertEvent]) -> None:
    """Hand committed alert events to the workers."""
    for event in events:
        act_on_alert.apply_async((str(event.alert_id), event.kind), queue=QUEUE)


@app.task(
    name="monitor.act_on_alert",
    acks_late=True,
    autoretry_for=DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=8,
)
def act_on_alert(alert_id: str, event: str) -> dict[str, Any]:
    """Run the opt-in actions of an alert event, then send it to the webhook; an opened alert
    is then attributed (after its ``alert.opened`` delivery, so ``alert.attributed`` follows)."""
    settings = get_settings()
    done = actions.run_actions(settings, alert_id=uuid.UUID(alert_id), event=event)
    steps = []
    if settings.monitor_webhook_url:
        steps.append(deliver_webhook.si(alert_id, event).set(queue=QUEUE))
    if event == "opened":
        steps.append(attribute_alert.si(alert_id).set(queue=QUEUE))
    if steps:
        chain(*steps).apply_async()
    return done


@app.task(
    name="monitor.attribute_alert",
    acks_late=True,
    autoretry_for=DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=8,
)
def attribute_alert(alert_id: str) -> str:
    """Replay the opened alert's labelled tickets through the previous production version
    and store who is to blame; then send ``alert.attributed`` to the webhook. The verdict, or
    ``skipped`` (a candidate stream's alert, attributed already, or attribution off)."""
    settings = get_settings()
    if settings.monitor_attribution_max_tickets <= 0:
        return "skipped"
    with session_scope() as session:
        inputs = attribution.gather(session, settings=settings, alert_id=uuid.UUID(alert_id))
    if inputs is None:
        return "skipped"
    runtime = shadow_runtime(settings)

    def replay(ticket_id: uuid.UUID, version_id: uuid.UUID) -> str | None:
        try:
            decision = runtime.replay(ticket_id, version_id)
        except ShadowBudgetSpent as exc:
            raise attribution.ReplayStopped(str(exc)) from exc
        return None if decision is None else decision["queue"]

    doc = attribution.judge(inputs, settings=settings, replay=replay)
    with session_scope() as session:
        if not attribution.store(session, alert_id=uuid.UUID(alert_id), doc=doc):
            return "skipped"
    log.info("alert %s attributed: %s", alert_id, doc["summary"])
    if settings.monitor_webhook_url:
        deliver_webhook.apply_async((alert_id, "attributed"), queue=QUEUE)
    return str(doc["verdict"])


@app.task(name="monitor.deliver_webhook", bind=True, acks_late=True, max_retries=None)
def deliver_webhook(self: Task, alert_id: str, event: str) -> bool:
    """POST an alert event; retried with exponential backoff up to the configured attempts."""
    settings = get_settings()
    number = self.request.retries + 1
    with session_scope() as session:
        msg = webhooks.message(
            session, settings=settings, alert_id=uuid.UUID(alert_id), event=event
        )
    attempt = webhooks.post(msg, timeout_s=settings.monitor_webhook_timeout_s)
    with session_scope() as session:
        webhooks.record(
            session,
            alert_id=uuid.UUID(alert_id),
            event=event,
            msg=msg,
            attempt=attempt,
            number=number,
        )
    metrics.WEBHOOK_ATTEMPTS.labels("delivered" if attempt.delivered else "failed").inc()
    if attempt.delivered:
        return True
    if number >= settings.monitor_webhook_max_attempts:
        log.error("webhook gave up on %s %s after %d attempts", event, alert_id, number)
        return False
    raise self.retry(countdown=webhooks.backoff_s(settings, number))


@app.task(
    name=SHADOW_TASK,
    acks_late=True,
    autoretry_for=DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
)
def run_shadow(ticket_id: str, version_id: str) -> str:
    """Route a live ticket through the shadow version (enqueued by the API after production's
    decision was recorded). Idempotent: one shadow decision per (ticket, version). Returns what
    happened: ``recorded``, ``exists``, ``not_shadow``, ``budget``, ``rate``, ``no_ticket``."""
    outcome = shadow_runtime(get_settings()).run(uuid.UUID(ticket_id), uuid.UUID(version_id))
    if outcome not in ("recorded", "exists"):
        log.info("shadow run of ticket %s by %s: %s", ticket_id, version_id, outcome)
    return outcome


@app.task(
    name="versions.guard_canary",
    acks_late=True,
    autoretry_for=DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=3,
)
def guard_canary() -> str:
    """The guarded rollout: judge the serving canary; on 'roll back' stop it (audited) and tell
    the serving processes. The verdict, or ``none`` when no canary serves."""
    return asyncio.run(_guard_canary(get_settings()))


async def _guard_canary(settings: Settings) -> str:
    engine = make_async_engine(resolve_database_url(settings), settings)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    redis = AsyncRedis.from_url(resolve_redis_url(settings), socket_timeout=5)
    try:
        async with async_session_scope(sessions) as session:
            result = await guard_serving_canary(session, actor=MONITOR)
        if result is None:
            return "none"
        if result.rolled_back:
            await ControlPlane(sessions, redis).changed()
            log.warning("canary %s stopped: %s", result.candidate, result.verdict.reason)
        return result.verdict.action
    finally:
        await redis.aclose()
        await engine.dispose()
