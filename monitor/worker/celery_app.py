"""The Celery app of the monitor: Redis broker, reliable delivery, a beat entry per window size.

Configuration is read when the app is first used (not at import), so importing the tasks
never starts an embedded Redis. Tasks are acknowledged after they finish (``acks_late``): a
worker that dies mid-task leaves the message to be delivered again, which is safe because
every task is idempotent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from celery.schedules import schedstate, schedule

from agent.config import Settings, get_settings
from agent.embedded import resolve_redis_url
from agent.services.health import MONITOR_QUEUE
from monitor.stats.windows import (
    closed_window,
    format_duration,
    parse_horizons,
    parse_window_sizes,
)

QUEUE = MONITOR_QUEUE


class aligned(schedule):  # noqa: N801  (Celery's schedules are lower-case: crontab, solar)
    """Due once per window, ``grace_s`` after each window of ``size_s`` closes (UTC grid)."""

    def __init__(self, size_s: int, grace_s: float, app: Celery | None = None) -> None:
        super().__init__(run_every=timedelta(seconds=size_s), app=app)
        self.size_s = size_s
        self.grace_s = grace_s

    def due_at(self, now: datetime) -> datetime:
        """When the latest window that closed before ``now - grace`` became due."""
        return closed_window(self.size_s, now - timedelta(seconds=self.grace_s)).end + timedelta(
            seconds=self.grace_s
        )

    def is_due(self, last_run_at: datetime) -> schedstate:
        now = self.now()
        due = self.due_at(now)
        next_in = (due + timedelta(seconds=self.size_s) - now).total_seconds()
        last = self.maybe_make_aware(last_run_at)
        return schedstate(is_due=last < due <= now, next=max(next_in, 0.5))

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (self.size_s, self.grace_s))

    def __repr__(self) -> str:
        return f"<aligned {format_duration(self.size_s)} +{self.grace_s:g}s>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, aligned):
            return (self.size_s, self.grace_s) == (other.size_s, other.grace_s)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.size_s, self.grace_s))


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """One entry per window size: schedule that size's just-closed window; one per window
    size and label horizon: re-judge the window that closed that long ago on its late labels;
    and the guarded rollout's check of the canary when it is on."""
    sizes = parse_window_sizes(settings.monitor_window_sizes)
    grace = settings.monitor_window_grace_s
    entries: dict[str, dict[str, Any]] = {
        f"monitor-windows-{format_duration(size)}": {
            "task": "monitor.schedule_windows",
            "schedule": aligned(size, grace),
            "args": (size,),
            "options": {"queue": QUEUE, "expires": size},
        }
        for size in sizes
    }
    for size in sizes:
        for horizon in parse_horizons(settings.monitor_label_horizons):
            entries[f"monitor-late-labels-{format_duration(size)}+{format_duration(horizon)}"] = {
                "task": "monitor.schedule_rejudgements",
                "schedule": aligned(size, grace + horizon),
                "args": (size, horizon),
                "options": {"queue": QUEUE, "expires": size},
            }
    if settings.canary_auto_rollback:
        entries["versions-guard-canary"] = {
            "task": "versions.guard_canary",
            "schedule": timedelta(seconds=settings.canary_guard_interval_s),
            "options": {"queue": QUEUE, "expires": settings.canary_guard_interval_s},
        }
    return entries


def config(settings: Settings) -> dict[str, Any]:
    """Broker, delivery guarantees and the beat schedule from the settings."""
    return {
        "broker_url": resolve_redis_url(settings),
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": 3600},
        "task_default_queue": QUEUE,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "task_track_started": False,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": beat_schedule(settings),
    }


def configure(app: Celery, settings: Settings) -> None:
    """Reconfigure an app already in use (tests): new settings, fresh broker connections."""
    app.conf.update(config(settings))
    pool = app._pool  # type: ignore[attr-defined]
    if pool is not None:
        pool.force_close_all()
    app._pool = None  # type: ignore[attr-defined]
    app.amqp._producer_pool = None  # type: ignore[attr-defined]


app = Celery("ticketwatch", include=["monitor.worker.tasks"])
app.add_defaults(lambda: config(get_settings()))  # read on first use, not at import
