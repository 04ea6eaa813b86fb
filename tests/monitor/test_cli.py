"""``ticketwatch worker | beat | monitor run | backfill | rebaseline | status``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import redis
import typer.main
from sqlalchemy import create_engine, pool, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from agent.cli import _register_plugins, app
from agent.config import Settings
from agent.db import sqlalchemy_url
from agent.models import MonitorReference, SignalValue
from monitor.signals import all_signals
from monitor.storage import references
from tests.monitor.traffic import production_version, seed_traffic, topics

DAY = datetime(2026, 3, 1, tzinfo=UTC)
SHIFTED_HOUR = DAY + timedelta(days=1, hours=3)
ROWS = len(all_signals()) + 2  # and the evidence and its sequential row


@pytest.fixture
def cli() -> Callable[..., object]:
    _register_plugins()
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> object:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return invoke


@pytest.fixture
def traffic(monitor_env: Callable[..., Settings], fresh_db_url: str) -> str:
    """A day of calm traffic, then three hours the next day; the third hour has new content."""
    monitor_env(
        monitor_segments="channel",
        monitor_calibration_replicates=100,
        monitor_reference_min_tickets=300,
    )
    references.clear_cache()
    t = topics()
    engine = create_engine(sqlalchemy_url(fresh_db_url), poolclass=pool.NullPool)
    with Session(engine) as db, db.begin():
        version = production_version(db)
        seed_traffic(db, t.window(1, 500), version_id=version.id, start=DAY, span=timedelta(days=1))
        for hour, new_share in ((1, 0.0), (2, 0.0), (3, 0.4)):
            seed_traffic(
                db,
                t.window(10 + hour, 120, new_share=new_share),
                version_id=version.id,
                start=DAY + timedelta(days=1, hours=hour - 1),
                span=timedelta(hours=1),
                new_from=72,
                seed=hour,
            )
    engine.dispose()
    return fresh_db_url


def rows(url: str) -> list[SignalValue]:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with Session(engine) as db:
        found = list(db.scalars(select(SignalValue)))
    engine.dispose()
    return found


def test_worker_and_beat_have_help(cli) -> None:
    assert "Celery worker" in cli("worker", "--help").output
    assert "beat" in cli("beat", "--help").output.lower()
    assert "rebaseline" in cli("monitor", "--help").output
    command = typer.main.get_command(app)
    assert {"worker", "beat", "monitor"} <= set(command.commands)  # type: ignore[attr-defined]


@pytest.mark.slow  # tens of seconds on a busy 2-core machine
def test_rebaseline_run_backfill_and_status(cli, traffic: str) -> None:
    day_end = (DAY + timedelta(days=1)).isoformat()
    out = cli("monitor", "rebaseline", "--from", DAY.isoformat(), "--to", day_end, "--note", "v1")
    assert "500 decisions" in out.output
    end = (DAY + timedelta(days=1, hours=2)).isoformat()
    reports = json.loads(
        cli("monitor", "run", "--window", "1h", "--at", end, "--json", "--no-notify").stdout
    )
    assert [r["segment"] for r in reports] == ["all", "channel:email", "channel:web"]
    assert all(r["window_end"] == end and r["severity"] == "none" for r in reports)
    assert len(rows(traffic)) == 3 * ROWS

    summary = json.loads(
        cli(
            "monitor",
            "backfill",
            "--from",
            DAY.isoformat(),
            "--to",
            SHIFTED_HOUR.isoformat(),
            "--window",
            "1h",
            "--json",
        ).stdout
    )
    assert summary["windows"] == 27 and summary["segments_computed"] == 27 * 3
    assert summary["alerting"] >= 1 and summary["events_sent"] == 0  # backfills stay quiet
    assert any(e.startswith("opened:") for e in summary["events"])
    stored = rows(traffic)
    assert len(stored) == 27 * 3 * ROWS  # the first run's rows were replaced, not doubled
    assert sum(r.insufficient for r in stored if r.signal == "evidence") == 24 * 3  # empty hours

    status = json.loads(cli("monitor", "status", "--json").stdout)
    (reference,) = status["references"]
    assert reference["kind"] == "traffic" and reference["note"] == "v1"
    assert reference["calibrations"] >= 1
    assert status["windows"] == [
        {"window": "1h", "latest_end": SHIFTED_HOUR.isoformat(), "segments": 3}
    ]
    assert status["open_alerts"] and status["open_alerts"][0]["window"] == "1h"


def test_run_sends_alert_events_to_the_workers(cli, traffic: str, redis_url: str) -> None:
    cli(
        "monitor",
        "rebaseline",
        "--from",
        DAY.isoformat(),
        "--to",
        (DAY + timedelta(days=1)).isoformat(),
    )
    out = cli(
        "monitor", "run", "--window", "1h", "--at", SHIFTED_HOUR.isoformat(), "--segment", "all"
    )
    assert "alert event(s) sent to the workers" in out.output
    queued = redis.Redis.from_url(redis_url).lrange("monitor", 0, -1)
    assert len(queued) == 1 and b"monitor.act_on_alert" in queued[0]


def test_rebaseline_refuses_a_thin_period(cli, traffic: str) -> None:
    out = cli(
        "monitor",
        "rebaseline",
        "--from",
        DAY.isoformat(),
        "--to",
        (DAY + timedelta(hours=2)).isoformat(),
        code=1,
    )
    assert "a reference needs 300" in out.output
    engine = create_engine(sqlalchemy_url(traffic), poolclass=pool.NullPool)
    with Session(engine) as db:
        assert db.scalars(select(MonitorReference)).all() == []
    engine.dispose()


def test_invalid_settings_stop_the_commands_with_a_reason(
    cli, monitor_env: Callable[..., Settings]
) -> None:
    monitor_env(monitor_window_sizes="5s", celery=False)
    out = cli("monitor", "run", code=2)
    assert "invalid monitor setting" in out.output and "at least 10s" in out.output
    monitor_env(monitor_window_sizes="1h", monitor_evidence_groups="embedding,vibes", celery=False)
    assert "vibes" in cli("worker", code=2).output
