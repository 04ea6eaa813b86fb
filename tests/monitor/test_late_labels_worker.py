"""Late labels through a real Celery worker: a window judged calm at close is proved wrong by
the labels that arrive after it, and its +1 h re-judgement opens an alert naming that window."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from prometheus_client import REGISTRY
from sqlalchemy import Engine, create_engine, pool, select
from sqlalchemy.orm import Session

from agent.config import Settings
from agent.db import sqlalchemy_url
from agent.models import Alert, SignalValue
from monitor.stats.windows import Window
from monitor.storage import references
from monitor.worker import tasks
from monitor.worker.celery_app import app
from tests.monitor.test_service import DAY, WINDOW, with_reference
from tests.monitor.traffic import seed_labels, seed_traffic, stable_ids, topics


def wait_for(engine: Engine, window: Window, signal: str, *, timeout_s: float) -> SignalValue:
    """Until the worker has written the window's row of ``signal`` (polling, with a deadline)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with Session(engine) as db:
            row = db.scalar(
                select(SignalValue).where(
                    SignalValue.signal == signal,
                    SignalValue.segment == "all",
                    SignalValue.window_end == window.end,
                )
            )
        if row is not None:
            return row
        time.sleep(0.5)
    raise AssertionError(f"the worker did not write {signal} of {window.label} in {timeout_s} s")


def seed(engine: Engine, windows: list[Window]) -> tuple[list, object]:
    """A reference whose labelled tickets are 90% right, and calm windows without labels."""
    t = topics()
    with Session(engine) as db, db.begin():
        version_id = with_reference(db, t)
        reference = t.window(10, 600)  # what with_reference seeded over DAY
        ref_ids = stable_ids("traffic", f"{DAY.isoformat()}/{timedelta(days=1)}/0/None", 600)
        seed_labels(
            db,
            reference,
            ref_ids,
            labelled=range(0, 600, 2),
            wrong=range(0, 600, 20),
            recorded_at=DAY + timedelta(days=1),
        )
        samples = []
        for i, w in enumerate(windows):
            sample = t.window(40 + i, 150)
            ids = seed_traffic(
                db, sample, version_id=version_id, start=w.start, span=timedelta(hours=1)
            )
            samples.append((sample, ids))
    return samples, version_id


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_calm_window_proved_wrong_by_late_labels_opens_an_alert_at_its_1h_rejudgement(
    monitor_env: Callable[..., Settings], fresh_db_url: str
) -> None:
    monitor_env(
        monitor_calibration_replicates=100,
        monitor_reference_min_tickets=300,
        monitor_min_tickets=50,
        monitor_window_sizes="1h",
        monitor_segments="",
        monitor_label_horizons="1h,24h,7d",
    )
    references.clear_cache()
    engine = create_engine(sqlalchemy_url(fresh_db_url), poolclass=pool.NullPool)
    past, later = WINDOW, Window(3600, WINDOW.end + timedelta(hours=1))
    samples, _ = seed(engine, [past, later])
    grace = timedelta(seconds=31)
    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False):
        tasks.compute_window.delay(3600, past.end.isoformat(), "all")
        at_close = wait_for(engine, past, "evidence", timeout_s=300)
        closing = wait_for(engine, past, "label_accuracy", timeout_s=10)
        # half an hour after the close, the +1 h re-judgement of this window is not due yet
        early = (past.end + timedelta(minutes=30)).isoformat()
        assert tasks.schedule_rejudgements.apply(args=(3600, 3600), kwargs={"at": early}).get() == 0
        # then the helpdesk reports (and reviewers override) half of the window: 30 of 60 wrong
        sample, ids = samples[0]
        with Session(engine) as db, db.begin():
            seed_labels(
                db,
                sample,
                ids,
                labelled=range(0, 90, 3),
                wrong=range(0, 90, 6),
                recorded_at=past.end + timedelta(minutes=40),
            )
            seed_labels(
                db,
                sample,
                ids,
                labelled=range(1, 90, 3),
                wrong=range(1, 90, 6),
                recorded_at=past.end + timedelta(minutes=45),
                source="override",
            )
        due = (past.end + timedelta(hours=1) + grace).isoformat()
        assert tasks.schedule_rejudgements.apply(args=(3600, 3600), kwargs={"at": due}).get() == 1
        rejudged = wait_for(engine, past, "label_accuracy@1h", timeout_s=120)
        # the next window (calm) goes through the stream's own alert lifecycle
        tasks.compute_window.delay(3600, later.end.isoformat(), "all")
        wait_for(engine, later, "evidence", timeout_s=300)
    with Session(engine) as db:
        alerts = db.scalars(select(Alert)).all()
    engine.dispose()

    assert at_close.details["severity"] == "none"
    assert closing.insufficient and "fewer than 20 labelled" in closing.details["reason"]
    assert not rejudged.insufficient and rejudged.drifted
    assert rejudged.details["unweighted_accuracy"] == pytest.approx(0.5)
    assert rejudged.value == pytest.approx(0.5, abs=0.1)  # weighted by mode and channel
    assert rejudged.details["labelled"] == 60 and rejudged.details["horizon_s"] == 3600
    assert rejudged.details["reference_accuracy"] == pytest.approx(0.9, abs=0.05)
    assert rejudged.p_value is not None and rejudged.p_value <= rejudged.details["alpha"]
    assert len(alerts) == 1, [(a.rule, a.last_window_end) for a in alerts]
    alert = alerts[0]
    assert (alert.rule, alert.status, alert.last_window_end) == ("late_labels", "open", past.end)
    window = alert.evidence["window"]
    assert (window["start"], window["end"]) == (past.start.isoformat(), past.end.isoformat())
    assert alert.evidence["horizon"] == "1h" and alert.evidence["judged_at"]
    assert past.start.isoformat() in alert.explanation["summary"]
    assert "judged 1h after it closed" in alert.explanation["summary"]
    exported = {"signal": "label_accuracy@1h", "segment": "all", "window": "1h"}
    assert REGISTRY.get_sample_value("ticketwatch_monitor_signal_drifted", exported) == 1.0
