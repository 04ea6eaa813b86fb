"""``ticketwatch monitor rejudge``: a past window judged again on the labels known now."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import create_engine, pool, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from agent.cli import _register_plugins, app
from agent.config import Settings
from agent.db import sqlalchemy_url
from agent.models import Alert, SignalValue
from monitor.storage import references
from tests.monitor.test_late_labels import labelled_reference
from tests.monitor.test_service import WINDOW
from tests.monitor.traffic import seed_labels, seed_traffic, topics


def test_rejudge_names_the_window_and_stores_the_horizon(
    monitor_env: Callable[..., Settings], fresh_db_url: str
) -> None:
    monitor_env(monitor_segments="", monitor_window_sizes="1h", monitor_reference_min_tickets=300)
    references.clear_cache()
    engine = create_engine(sqlalchemy_url(fresh_db_url), poolclass=pool.NullPool)
    t = topics()
    with Session(engine) as db, db.begin():
        version_id = labelled_reference(db, t)
        sample = t.window(40, 150)
        ids = seed_traffic(
            db, sample, version_id=version_id, start=WINDOW.start, span=timedelta(hours=1)
        )
        seed_labels(
            db,
            sample,
            ids,
            labelled=range(60),
            wrong=range(0, 60, 2),
            recorded_at=WINDOW.end + timedelta(hours=2),
        )
    _register_plugins()
    args = ["monitor", "rejudge", "--window", "1h", "--at", WINDOW.end.isoformat()]
    result = CliRunner().invoke(
        app, [*args, "--horizon", "24h", "--segment", "all", "--no-notify", "--json"]
    )
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    assert report["window_start"] == WINDOW.start.isoformat() and report["horizon"] == "1d"
    assert report["severity"] == "critical" and len(report["events"]) == 1
    with Session(engine) as db:
        row = db.scalars(select(SignalValue)).one()
        alert = db.scalars(select(Alert)).one()
    engine.dispose()
    assert (row.signal, row.drifted, row.details["horizon_s"]) == ("label_accuracy@1d", True, 86400)
    assert alert.rule == "late_labels" and alert.evidence["horizon"] == "1d"
