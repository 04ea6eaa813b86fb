"""Computing windows through the service against the real database (synthetic traffic)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.config import Settings
from agent.models import Alert, AuditEntry, MonitorCalibration, MonitorReference
from agent.services.operators import Actor
from monitor.services import compute
from monitor.signals import all_signals
from monitor.stats.windows import Window
from monitor.storage import calibration_cache, references, repository
from monitor.storage.references import BaselineError
from tests.monitor.traffic import Topics, production_version, seed_history, seed_traffic, topics

DAY = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW = Window(3600, DAY + timedelta(days=2, hours=1))
ROWS_PER_WINDOW = len(all_signals()) + 2  # and the evidence, and its sequential row
SETTINGS = Settings(
    monitor_calibration_replicates=100, monitor_reference_min_tickets=300, monitor_min_tickets=50
)


@pytest.fixture(autouse=True)
def _fresh_reference_cache() -> None:
    references.clear_cache()  # each test's rows are rolled back: so are its references


@pytest.fixture
def t() -> Topics:
    return topics()


def with_reference(db: Session, t: Topics, n: int = 600) -> uuid.UUID:
    """A production version whose first day of traffic is its reference."""
    version = production_version(db)
    seed_traffic(db, t.window(10, n), version_id=version.id, start=DAY, span=timedelta(days=1))
    info = repository.production_version(db)
    assert info is not None
    references.rebaseline(
        db,
        settings=SETTINGS,
        version=info,
        start=DAY,
        end=DAY + timedelta(days=1),
        actor=Actor("tests", "operator"),
    )
    return version.id


def stored(db: Session, window: Window = WINDOW) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "segment": r.segment,
            "signal": r.signal,
            "value": r.value,
            "threshold": r.threshold,
            "p_value": r.p_value,
            "drifted": r.drifted,
            "insufficient": r.insufficient,
            "details": r.details,
        }
        for r in repository.signal_rows(db, window_size_s=window.size_s, window_end=window.end)
    ]


@pytest.mark.slow  # tens of seconds on a busy 2-core machine
def test_recomputing_a_window_upserts_the_same_rows_and_reuses_the_calibration(
    db: Session, t: Topics, monkeypatch: pytest.MonkeyPatch
) -> None:
    version_id = with_reference(db, t)
    seed_traffic(
        db, t.window(11, 120), version_id=version_id, start=WINDOW.start, span=timedelta(hours=1)
    )
    runs: list[int] = []
    real = calibration_cache.calibrate
    monkeypatch.setattr(
        calibration_cache, "calibrate", lambda *a, **k: runs.append(1) or real(*a, **k)
    )
    first = compute.compute_window(db, settings=SETTINGS, window=WINDOW, segment="all")
    rows = stored(db)
    again = compute.compute_window(db, settings=SETTINGS, window=WINDOW, segment="all")
    assert stored(db) == rows and len(rows) == ROWS_PER_WINDOW
    assert (first.calibration_cached, again.calibration_cached) == (False, True)
    assert len(runs) == 1
    assert db.scalar(select(MonitorCalibration.n_bucket)) == 90  # 120 tickets: bucket 90..127
    evidence = next(r for r in rows if r["signal"] == "evidence")
    assert evidence["details"]["severity"] == first.severity == "none"
    assert {r["details"]["direction"] for r in rows} <= {"increase", "decrease", "two_sided"}
    assert db.scalars(select(Alert)).all() == []


def test_a_window_of_another_size_reuses_the_calibration_at_its_own_rate(
    db: Session, t: Topics
) -> None:
    version_id = with_reference(db, t)
    seed_traffic(
        db, t.window(11, 120), version_id=version_id, start=WINDOW.start, span=timedelta(hours=1)
    )
    hourly = compute.compute_window(db, settings=SETTINGS, window=WINDOW, segment="all")
    daily_window = Window(86400, DAY + timedelta(days=3))
    daily = compute.compute_window(db, settings=SETTINGS, window=daily_window, segment="all")
    assert daily.calibration_cached and not hourly.calibration_cached
    # a day's window may alarm 24 times as often as an hour's: its threshold is lower
    assert daily.threshold is not None and hourly.threshold is not None
    assert daily.threshold < hourly.threshold


def test_a_window_with_too_few_tickets_is_insufficient_not_drift(db: Session, t: Topics) -> None:
    version_id = with_reference(db, t)
    seed_traffic(
        db,
        t.window(12, 30, new_share=1.0),
        version_id=version_id,
        start=WINDOW.start,
        span=timedelta(hours=1),
        new_from=0,
    )
    report = compute.compute_window(db, settings=SETTINGS, window=WINDOW, segment="all")
    assert report.insufficient and report.reason == "30 tickets, fewer than 50"
    rows = stored(db)
    assert len(rows) == ROWS_PER_WINDOW
    assert all(r["insufficient"] and r["value"] is None and not r["drifted"] for r in rows)
    assert db.scalars(select(Alert)).all() == []


def test_a_segment_the_reference_barely_holds_is_insufficient(db: Session, t: Topics) -> None:
    version_id = with_reference(db, t)
    seed_traffic(
        db,
        t.window(13, 120),
        version_id=version_id,
        start=WINDOW.start,
        span=timedelta(hours=1),
        channels=("chat",),
    )
    report = compute.compute_window(db, settings=SETTINGS, window=WINDOW, segment="channel:chat")
    assert report.insufficient
    assert report.reason == "the reference holds 0 tickets of this segment, fewer than 50"


def test_without_history_or_traffic_reference_windows_wait(db: Session, t: Topics) -> None:
    version = production_version(db)
    seed_traffic(
        db, t.window(14, 80), version_id=version.id, start=WINDOW.start, span=timedelta(hours=1)
    )
    report = compute.compute_window(db, settings=SETTINGS, window=WINDOW, segment="all")
    assert report.insufficient and report.reason is not None and "no reference" in report.reason


def test_a_fresh_install_compares_content_with_the_history(db: Session, t: Topics) -> None:
    version = production_version(db)
    seed_history(db, t, n=400, recorded_at=DAY)
    seed_traffic(
        db, t.window(15, 120), version_id=version.id, start=WINDOW.start, span=timedelta(hours=1)
    )
    report = compute.compute_window(db, settings=SETTINGS, window=WINDOW, segment="all")
    ref = db.scalars(select(MonitorReference)).one()
    assert (ref.kind, ref.created_by, ref.n_tickets) == ("history", "monitor", 400)
    by_name = {r.name: r for r in report.results}
    for content in ("embedding_mmd", "embedding_classifier", "novelty"):
        assert not by_name[content].insufficient and by_name[content].threshold is not None
    for prediction in ("entropy", "prediction_mix", "human_triage_rate"):
        assert by_name[prediction].insufficient  # history has no decisions to compare with


def test_a_versions_first_period_becomes_its_reference_once_it_is_over(
    db: Session, t: Topics
) -> None:
    version = production_version(db)
    seed_history(db, t, n=350, recorded_at=DAY - timedelta(days=1))
    seed_traffic(db, t.window(16, 400), version_id=version.id, start=DAY, span=timedelta(hours=20))
    settings = SETTINGS.model_copy(update={"monitor_reference_period": "1d"})
    info = repository.production_version(db)
    assert info is not None
    early = DAY + timedelta(hours=23)
    meanwhile = references.resolve_reference(db, settings=settings, version=info, at=early)
    assert meanwhile is not None and meanwhile.kind == "history"
    ref = references.resolve_reference(db, settings=settings, version=info, at=WINDOW.end)
    assert ref is not None and ref.kind == "traffic"
    assert (ref.starts_at, ref.ends_at) == (DAY, DAY + timedelta(days=1))
    row = db.get(MonitorReference, ref.id)
    assert row is not None and row.created_by == "monitor" and row.note.startswith("first 1d")
    again = references.resolve_reference(db, settings=settings, version=info, at=WINDOW.end)
    assert again == ref


def test_rebaseline_replaces_the_versions_reference_and_is_audited(db: Session, t: Topics) -> None:
    with_reference(db, t)
    info = repository.production_version(db)
    assert info is not None
    with pytest.raises(BaselineError, match="a reference needs 300"):
        references.rebaseline(
            db,
            settings=SETTINGS,
            version=info,
            start=DAY,
            end=DAY + timedelta(hours=1),
            actor=Actor("tests", "operator"),
        )
    references.rebaseline(
        db,
        settings=SETTINGS,
        version=info,
        start=DAY,
        end=DAY + timedelta(hours=20),
        actor=Actor("ops", "operator"),
        note="new prompt",
    )
    active = repository.active_references(db)
    assert len(active) == 1 and active[0].note == "new prompt"
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "monitor.rebaseline")).all()
    assert [a.actor for a in audit] == ["tests", "ops"]


def test_a_new_content_window_opens_an_alert_with_its_evidence(db: Session, t: Topics) -> None:
    version_id = with_reference(db, t)
    seed_traffic(
        db,
        t.window(17, 150, new_share=0.4),
        version_id=version_id,
        start=WINDOW.start,
        span=timedelta(hours=1),
        new_from=90,
    )
    report = compute.compute_window(db, settings=SETTINGS, window=WINDOW, segment="all")
    assert report.severity == "critical" and [e.kind for e in report.events] == ["opened"]
    alert = db.scalars(select(Alert)).one()
    assert alert.segment == "all" and alert.window_size_s == 3600
    assert alert.last_window_end == WINDOW.end and alert.score == report.score
    assert alert.evidence["what_moved"]["kind"] == "new_content"
    assert "novelty" in alert.evidence["signals"] or "embedding_mmd" in alert.evidence["signals"]
    assert alert.evidence["n"] == 150 and alert.evidence["reference"]["kind"] == "traffic"


@pytest.mark.slow  # tens of seconds on a busy 2-core machine
def test_a_drifting_canary_alerts_in_its_own_windows_not_in_productions(
    db: Session, t: Topics
) -> None:
    version_id = with_reference(db, t)
    calm = t.window(18, 150)
    seed_traffic(db, calm, version_id=version_id, start=WINDOW.start, span=timedelta(hours=1))
    seed_traffic(
        db,
        t.window(17, 150, new_share=0.4),
        version_id=version_id,
        start=WINDOW.start,
        span=timedelta(hours=1),
        new_from=90,
        seed=1,
        stream="canary",
    )
    segments = compute.segments_of(db, settings=SETTINGS, window=WINDOW)
    assert "version:canary" in segments and "version:shadow" not in segments
    production = compute.compute_window(db, settings=SETTINGS, window=WINDOW, segment="all")
    assert production.n == 150 and production.severity == "none" and not production.events
    canary = compute.compute_window(db, settings=SETTINGS, window=WINDOW, segment="version:canary")
    assert canary.n == 150 and canary.severity == "critical"
    alert = db.scalars(select(Alert)).one()
    assert alert.segment == "version:canary"


def test_a_calibrations_signature_changes_when_the_reference_gains_labels(t: Topics) -> None:
    from dataclasses import replace

    import numpy as np

    from monitor.stats.samples import WindowData

    sample = t.window(1, 200)
    data = WindowData(sample, [], [], [], [], 200)
    assert sample.true_label is not None
    labelled = replace(sample, true_label=np.where(sample.true_label >= 0, sample.true_label, 0))
    relabelled = WindowData(labelled, [], [], [], [], 200)
    assert calibration_cache.signature(data, 100) != calibration_cache.signature(relabelled, 100)
    assert calibration_cache.signature(data, 100) != calibration_cache.signature(data, 200)
    assert calibration_cache.signature(data, 100) == calibration_cache.signature(data, 100)
