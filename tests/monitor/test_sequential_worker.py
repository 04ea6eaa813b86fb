"""The sequential layer through a real Celery worker: ``monitor.compute_window`` tasks, in the
order beat sends them, carry each stream's CUSUM from window to window and open one alert."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import create_engine, pool, select
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
    windows = [Window(3600, WINDOW.end + timedelta(hours=i)) for i in range(4)]
    with Session(engine) as db, db.begin():
        version_id = with_reference(db, t)
        for i, w in enumerate(windows):  # 8% new content, as the service test
            seed_traffic(
                db,
                t.window(30 + i, 150, new_share=0.08),
                version_id=version_id,
                start=w.start,
                span=timedelta(hours=1),
                new_from=1000 + 150 * i,
            )
    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False):
        reports = [
            tasks.compute_window.delay(3600, w.end.isoformat(), "all").get(timeout=300)
            for w in windows
        ]
    with Session(engine) as db:
        rows = db.scalars(
            select(SignalValue)
            .where(SignalValue.signal == SEQUENTIAL)
            .order_by(SignalValue.window_end)
        ).all()
        alerts = db.scalars(select(Alert)).all()
    engine.dispose()
    assert [r["severity"] for r in reports] == ["none", "none", "none", "warning"]
    assert [r["sequential"]["alarm"] for r in reports] == [False, False, False, True]
    assert [r.window_end for r in rows] == [w.end for w in windows]
    # each task started from the row the previous one wrote
    evidence = [r.details["tracks"]["evidence"] for r in rows]
    for before, after in zip(evidence, evidence[1:], strict=False):
        assert after["statistic"] == pytest.approx(max(0.0, before["state"] + after["z"] - 0.5))
    assert len(alerts) == 1 and alerts[0].last_window_end == windows[-1].end
