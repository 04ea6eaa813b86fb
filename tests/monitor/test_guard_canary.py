"""The guarded rollout's beat task: it judges the serving canary and stops a worse one."""

from __future__ import annotations

import asyncio

import psycopg
from redis import Redis

from agent.services.control import EPOCH_KEY
from monitor.worker import tasks
from monitor.worker.celery_app import app, beat_schedule
from tests.agent.services.test_rollout import _versions, labels, seed_canary
from tests.live import settings_for


def test_the_guard_is_scheduled_only_when_it_is_on() -> None:
    assert "versions.guard_canary" in app.tasks and tasks.guard_canary.acks_late
    off = settings_for(database_url="postgresql://x/y", redis_url="redis://x", data_dir=".")
    assert "versions-guard-canary" not in beat_schedule(off)
    on = off.model_copy(update={"canary_auto_rollback": True, "canary_guard_interval_s": 60})
    entry = beat_schedule(on)["versions-guard-canary"]
    assert entry["task"] == "versions.guard_canary"
    assert entry["schedule"].total_seconds() == 60


def test_a_worse_canary_stops_itself_and_the_servers_hear_of_it(servers, fresh_db_url) -> None:
    settings = settings_for(
        database_url=fresh_db_url, redis_url=servers.redis_url, data_dir=servers.data_dir
    )
    ids = asyncio.run(
        _versions(fresh_db_url, {"production": ("1.0.0", 0), "canary": ("1.1.0", 20)})
    )
    seed_canary(fresh_db_url, ids, canary_right=False)
    redis = Redis.from_url(servers.redis_url)
    epoch = int(redis.get(EPOCH_KEY) or 0)
    assert asyncio.run(tasks._guard_canary(settings)) == "roll back"
    assert labels(fresh_db_url)["canary"] == ("1.1.0", 0)
    assert int(redis.get(EPOCH_KEY) or 0) > epoch  # every API process reloads its labels
    with psycopg.connect(fresh_db_url) as conn:
        actor = conn.execute(
            "SELECT actor FROM audit_log WHERE action = 'version.canary_rollback'"
        ).fetchall()
    assert actor == [("monitor",)]
    assert asyncio.run(tasks._guard_canary(settings)) == "none"  # no canary serves now
