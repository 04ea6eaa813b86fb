"""The sequential layer through a real Celery worker: ``monitor.compute_window`` tasks, in the
order beat sends them, carry each stream's CUSUM from window to window and open one alert."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import Engine, create_engine, pool, select
from sqlalchemy.orm import Session

from agent.config import Settings
from agent.db import sqlalchemy_url
from agent.models import Alert, SignalValue
from monitor.services.streams import SEQUENTIAL
from monitor.stats.windows import Window
from monitor.storage import references
from monitor.worker import tasks
from monitor.worker.celery_app import app
from tests.monitor.test_service import WINDOW, with_reference
from tests.monitor.traffic import seed_traffic, topics


def wait_for_row(engine: Engine, window: Window, *, timeout_s: float) -> None:
    """Until the worker has written the window's sequential row."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with Session(engine) as db:
            found = db.scalar(
                select(SignalValue.id).where(
                    SignalValue.signal == SEQUENTIAL, SignalValue.window_end == window.end
                )
            )
        if found is not None:
            return
        time.sleep(0.5)
    raise AssertionError(f"the worker did not compute {window.label} in {timeout_s} s")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_worker_tasks_accumulate_evidence_and_open_one_alert(
    monitor_env: Callable[..., Settings], fresh_db_url: str
) -> None:
    monitor_env(
        monitor_calibration_replicates=100,
        monitor_reference_min_tickets=300,
        monitor_min_tickets=50,
        monitor_window_sizes="1h",
        monitor_segments="",
    )
    references.clear_cache()
    engine = create_engine(sqlalchemy_url(fresh_db_url), poolclass=pool.NullPool)
    t = topics()
    windows = [Window(3600, WINDOW.end + timedelta(hours=i)) for i in range(6)]
    with Session(engine) as db, db.begin():
        version_id = with_reference(db, t, 1200)
        for i, w in enumerate(windows):  # 12% new content, as the service test
            seed_traffic(
                db,
                t.window(30 + i, 150, new_share=0.12),
                version_id=version_id,
                start=w.start,
                span=timedelta(hours=1),
                new_from=1000 + 150 * i,
            )
    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False):
        for w in windows:  # one at a time, as beat sends them (results are not kept: poll)
            tasks.compute_window.delay(3600, w.end.isoformat(), "all")
            wait_for_row(engine, w, timeout_s=300)
    with Session(engine) as db:
        rows = db.scalars(
            select(SignalValue)
            .where(SignalValue.signal == SEQUENTIAL)
            .order_by(SignalValue.window_end)
        ).all()
        severities = db.scalars(
            select(SignalValue.details["severity"].astext)
            .where(SignalValue.signal == "evidence")
            .order_by(SignalValue.window_end)
        ).all()
        alerts = db.scalars(select(Alert)).all()
    engine.dispose()
    assert severities == ["none"] * 5 + ["warning"]
    assert [r.details["alarm"] for r in rows] == [False] * 5 + [True]
    assert [r.window_end for r in rows] == [w.end for w in windows]
    # each task started from the row the previous one wrote
    evidence = [r.details["tracks"]["evidence"] for r in rows]
    for before, after in zip(evidence, evidence[1:], strict=False):
        step = after["z"] - 0.5 - rows[0].details["allowance"]
        assert after["statistic"] == pytest.approx(max(0.0, before["state"] + step))
    assert len(alerts) == 1 and alerts[0].last_window_end == windows[-1].end
