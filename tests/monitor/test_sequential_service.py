"""The sequential layer and the stream budget through the monitor's service (real database)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.config import Settings
from agent.models import Alert
from monitor.services import compute, streams
from monitor.stats.sequential import normal_score, reference_allowance
from monitor.stats.windows import Window
from monitor.storage import references, repository
from tests.monitor.test_service import WINDOW, with_reference
from tests.monitor.traffic import Topics, seed_traffic, topics

SETTINGS = Settings(
    monitor_calibration_replicates=100,
    monitor_reference_min_tickets=300,
    monitor_min_tickets=50,
    monitor_window_sizes="1h",
    monitor_segments="",
)


@pytest.fixture(autouse=True)
def _fresh_reference_cache() -> None:
    references.clear_cache()


def windows(
    db: Session, t: Topics, count: int, share: float, *, reference: int = 600
) -> list[compute.WindowReport]:
    """``count`` hourly windows in a row, ``share`` of each from topics the reference lacks."""
    version_id = with_reference(db, t, reference)
    reports = []
    for i in range(count):
        window = Window(3600, WINDOW.end + timedelta(hours=i))
        seed_traffic(
            db,
            t.window(30 + i, 150, new_share=share),
            version_id=version_id,
            start=window.start,
            span=timedelta(hours=1),
            new_from=1000 + 150 * i,
        )
        reports.append(compute.compute_window(db, settings=SETTINGS, window=window, segment="all"))
    return reports


def sequential_rows(db: Session, reports: list[compute.WindowReport]) -> list[Any]:
    return [
        next(
            r
            for r in repository.signal_rows(db, window_size_s=3600, window_end=x.window.end)
            if r.signal == streams.SEQUENTIAL
        )
        for x in reports
    ]


COUNT = 6


def test_a_drift_too_small_for_any_window_opens_one_alert_once_its_evidence_adds_up(
    db: Session,
) -> None:
    # 12% new content against a reference of 1,200: measured per-window scores 18.2-30.6
    # under the warning threshold 39.4; each step gives up k = 0.5 and the reference's
    # allowance 0.577 (1.73 sqrt(150 / 1,350)); the novelty track's CUSUM 1.56, 3.16, 4.72,
    # 6.20, 7.80, 9.20 against h = 7.90 (six tracks at six times the ARL): the sixth alarms
    reports = windows(db, topics(), COUNT, 0.12, reference=1200)
    assert all(r.score is not None and r.threshold is not None for r in reports)
    assert all(r.score < r.threshold for r in reports)  # type: ignore[operator]
    rows = sequential_rows(db, reports)
    alarms = [bool(r.details["alarm"]) for r in rows]
    assert alarms[:3] == [False] * 3 and True in alarms
    first = alarms.index(True)
    assert [r.severity for r in reports] == ["none"] * first + ["warning"] * (COUNT - first)
    opened = [e.kind for r in reports for e in r.events]
    assert opened == ["opened"]  # the episode holds the same alert open
    alert = db.scalars(select(Alert)).one()
    assert alert.evidence["sequential"]["holds_alert"] is True  # the latest window held it
    assert alert.evidence["sequential"]["threshold"] == rows[0].threshold
    # the stored statistics are the pure CUSUMs of the stored z scores, track by track
    states: dict[str, float] = {}
    for row in rows:
        tracks = row.details["tracks"]
        assert {"evidence", "embedding", "novelty"} <= set(tracks)
        for name, t in tracks.items():
            z = -math.inf if t["z"] is None else t["z"]
            step = z - 0.5 - row.details["allowance"]
            assert t["statistic"] == pytest.approx(max(0.0, states.get(name, 0.0) + step))
            assert t["alarm"] == (t["statistic"] >= row.threshold)
            states[name] = t["state"]
        assert row.value == pytest.approx(max(t["statistic"] for t in tracks.values()))
    assert rows[0].details["allowance"] == pytest.approx(
        reference_allowance(150, 1200, rows[0].details["reference_tail"])
    )
    assert normal_score(rows[0].p_value) == pytest.approx(
        rows[0].details["tracks"]["evidence"]["z"]
    )


@pytest.mark.slow  # tens of seconds on a busy 2-core machine
def test_recomputing_a_window_continues_from_the_same_state(db: Session) -> None:
    reports = windows(db, topics(), 2, 0.08)
    before = [(r.value, r.details) for r in sequential_rows(db, reports)]
    compute.compute_window(db, settings=SETTINGS, window=reports[1].window, segment="all")
    db.expire_all()
    assert [(r.value, r.details) for r in sequential_rows(db, reports)] == before


def test_the_window_layer_gets_its_share_of_the_deployment_budget(db: Session) -> None:
    t = topics()
    settings = Settings(
        monitor_calibration_replicates=100,
        monitor_reference_min_tickets=300,
        monitor_min_tickets=50,
    )  # 15m, 1h, 24h; queue, priority and channel segments
    version_id = with_reference(db, t)
    seed_traffic(
        db, t.window(11, 120), version_id=version_id, start=WINDOW.start, span=timedelta(hours=1)
    )
    report = compute.compute_window(db, settings=settings, window=WINDOW, segment="all")
    assert report.sequential is not None
    # all: half the budget, a third of it to 1-hour windows, four tenths of that to the window
    # layer (half to the sequential one, a tenth to the late labels)
    assert report.sequential["window_alpha"] == pytest.approx(0.5 / 3 * 0.4 / 720)
    assert report.sequential["sequential_arl"] == pytest.approx(720 / (0.5 / 3 * 0.25))
    # the other half of the sequential share covers a reference that errs past the
    # allowance, per track (six)
    assert report.sequential["reference_tail"] == pytest.approx(0.5 / 3 * 0.25 / 6)
