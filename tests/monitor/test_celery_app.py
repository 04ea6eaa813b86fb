"""The Celery app: delivery guarantees, named tasks, one aligned beat entry per window size."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from agent.config import Settings, get_settings
from monitor.worker import tasks
from monitor.worker.celery_app import aligned, app, beat_schedule, config


@pytest.fixture(autouse=True)
def _test_broker(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> Iterator[None]:
    """The app reads its broker from the settings when first used (``app.tasks`` here): the
    test's Redis, not an embedded one autostarted in the default data directory and left
    running after the tests."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


class Clock(aligned):
    """The schedule on a clock the test sets."""

    at = datetime(2026, 3, 1, 10, 0, 5, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def test_tasks_are_named_late_acknowledged_and_registered() -> None:
    names = {
        "monitor.schedule_windows",
        "monitor.compute_window",
        "monitor.act_on_alert",
        "monitor.deliver_webhook",
        "monitor.schedule_rejudgements",
        "monitor.rejudge_window",
        "monitor.attribute_alert",
    }
    assert names <= set(app.tasks)
    for task in (
        tasks.schedule_windows,
        tasks.compute_window,
        tasks.act_on_alert,
        tasks.schedule_rejudgements,
        tasks.rejudge_window,
        tasks.attribute_alert,
    ):
        assert task.acks_late and task.max_retries == 8
    assert tasks.deliver_webhook.acks_late


def test_the_config_asks_for_reliable_delivery() -> None:
    conf = config(Settings(redis_url="redis://127.0.0.1:1/5", monitor_window_sizes="15m,1h"))
    assert conf["broker_url"] == "redis://127.0.0.1:1/5"
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    schedule = conf["beat_schedule"]
    late = {f"monitor-late-labels-{w}+{h}" for w in ("15m", "1h") for h in ("1h", "1d", "7d")}
    assert set(schedule) == {"monitor-windows-15m", "monitor-windows-1h"} | late
    assert schedule["monitor-windows-1h"]["args"] == (3600,)
    assert schedule["monitor-windows-1h"]["task"] == "monitor.schedule_windows"
    rejudge = schedule["monitor-late-labels-1h+1d"]
    assert rejudge["task"] == "monitor.schedule_rejudgements"
    assert rejudge["args"] == (3600, 86400)
    # due a day and the grace after each window closes
    assert rejudge["schedule"] == aligned(3600, 30.0 + 86400)


def test_an_aligned_schedule_is_due_once_per_window_after_the_grace() -> None:
    schedule = Clock(900, 30.0)
    Clock.at = datetime(2026, 3, 1, 10, 0, 20, tzinfo=UTC)  # in the grace after 10:00
    last = datetime(2026, 3, 1, 9, 45, 31, tzinfo=UTC)  # the 9:45 window ran
    due, _ = schedule.is_due(last)
    assert not due
    Clock.at = datetime(2026, 3, 1, 10, 0, 31, tzinfo=UTC)
    due, next_in = schedule.is_due(last)
    assert due and 890 < next_in <= 900  # next: 10:15:30
    ran = Clock.at
    Clock.at += timedelta(minutes=5)
    due, next_in = schedule.is_due(ran)
    assert not due and 590 < next_in <= 600


def test_a_late_beat_schedules_the_latest_window_once() -> None:
    schedule = Clock(3600, 10.0)
    Clock.at = datetime(2026, 3, 1, 13, 20, tzinfo=UTC)  # beat was down since 10:30
    assert schedule.is_due(datetime(2026, 3, 1, 10, 30, tzinfo=UTC)).is_due
    assert not schedule.is_due(Clock.at).is_due


def test_the_schedule_survives_beats_shelve() -> None:
    entry = beat_schedule(Settings(monitor_window_sizes="1h", monitor_window_grace_s=7))
    schedule = entry["monitor-windows-1h"]["schedule"]
    restored = pickle.loads(pickle.dumps(schedule))
    assert restored == schedule and (restored.size_s, restored.grace_s) == (3600, 7.0)


def _seed_channel_traffic(
    monitor_env, db_url: str, start: datetime, day: int, channels: tuple[str, ...]
) -> None:
    """Segments by channel; 20 tickets per channel in the 15 minutes from ``start``."""
    from sqlalchemy import create_engine, pool
    from sqlalchemy.orm import Session

    from agent.db import sqlalchemy_url
    from tests.monitor.traffic import production_version, seed_traffic, topics

    monitor_env(monitor_segments="channel", monitor_window_grace_s=30)
    engine = create_engine(sqlalchemy_url(db_url), poolclass=pool.NullPool)
    with Session(engine) as db, db.begin():
        version = production_version(db)
        seed_traffic(
            db,
            topics().window(day, 20),
            version_id=version.id,
            start=start,
            span=timedelta(minutes=14),
            channels=channels,
        )
    engine.dispose()


def _queued_windows(redis_url: str) -> list[str]:
    """The (size, window start, segment) of every compute task waiting on the monitor queue."""
    import json

    import redis

    queued = [json.loads(m) for m in redis.Redis.from_url(redis_url).lrange("monitor", 0, -1)]
    assert all(m["headers"]["task"] == "monitor.compute_window" for m in queued)
    return sorted(m["headers"]["argsrepr"] for m in queued)


def test_scheduling_enqueues_each_segment_of_the_closed_window_once(
    monitor_env, fresh_db_url: str, redis_url: str
) -> None:
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    _seed_channel_traffic(monitor_env, fresh_db_url, start, 1, ("web", "chat"))
    at = (start + timedelta(minutes=15, seconds=40)).isoformat()  # beat's run, grace after
    assert tasks.schedule_windows.apply(args=(900,), kwargs={"at": at}).get() == 3
    assert tasks.schedule_windows.apply(args=(900,), kwargs={"at": at}).get() == 0  # once
    assert _queued_windows(redis_url) == sorted(
        repr((900, "2026-03-01T10:15:00+00:00", s)) for s in ("all", "channel:chat", "channel:web")
    )


def test_a_window_whose_scheduling_was_missed_is_caught_up_by_the_next_run(
    monitor_env, fresh_db_url: str, redis_url: str
) -> None:
    """A busy worker let beat's message for a window expire: the next run schedules it."""
    start = datetime(2026, 3, 2, 10, tzinfo=UTC)
    _seed_channel_traffic(monitor_env, fresh_db_url, start, 2, ("web",))
    # Two windows later: the 10:15 window's own run never happened; 10:30 and 10:45 were empty.
    at = (start + timedelta(minutes=45, seconds=40)).isoformat()
    assert tasks.schedule_windows.apply(args=(900,), kwargs={"at": at}).get() == 1 + 2
    assert tasks.schedule_windows.apply(args=(900,), kwargs={"at": at}).get() == 0
    assert _queued_windows(redis_url) == sorted(
        [
            repr((900, "2026-03-02T10:45:00+00:00", "all")),  # the latest window, even empty
            repr((900, "2026-03-02T10:15:00+00:00", "all")),
            repr((900, "2026-03-02T10:15:00+00:00", "channel:web")),
        ]
    )


def test_a_window_whose_task_died_with_its_worker_is_scheduled_again_once(
    monitor_env, fresh_db_url: str, redis_url: str
) -> None:
    """A SIGKILLed worker's message returns only after the broker's visibility timeout (an
    hour): a catch-up run finds the window scheduled long ago but never computed."""
    import time

    import redis

    start = datetime(2026, 3, 3, 10, tzinfo=UTC)
    _seed_channel_traffic(monitor_env, fresh_db_url, start, 3, ("web",))
    at = (start + timedelta(minutes=15, seconds=40)).isoformat()
    assert tasks.schedule_windows.apply(args=(900,), kwargs={"at": at}).get() == 2
    broker = redis.Redis.from_url(redis_url)
    broker.delete("monitor")  # a worker took both tasks and was killed before computing them
    later = (start + timedelta(minutes=30, seconds=40)).isoformat()
    assert tasks.schedule_windows.apply(args=(900,), kwargs={"at": later}).get() == 1  # 10:30
    # scheduled only now: a busy worker may still come to it
    key = f"ticketwatch:monitor:scheduled:900:{int((start + timedelta(minutes=15)).timestamp())}"
    broker.set(key, str(time.time() - 601), keepttl=True)  # monitor_requeue_after_s is 600
    assert tasks.schedule_windows.apply(args=(900,), kwargs={"at": later}).get() == 2
    assert tasks.schedule_windows.apply(args=(900,), kwargs={"at": later}).get() == 0  # once
    assert _queued_windows(redis_url) == sorted(
        [
            repr((900, "2026-03-03T10:30:00+00:00", "all")),
            repr((900, "2026-03-03T10:15:00+00:00", "all")),
            repr((900, "2026-03-03T10:15:00+00:00", "channel:web")),
        ]
    )
