"""Re-judging past windows on late labels through the service (real database)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.models import Alert, AuditEntry
from monitor.services import late_labels
from monitor.storage import references, repository
from tests.monitor.test_service import DAY, SETTINGS, WINDOW, with_reference
from tests.monitor.traffic import Topics, seed_labels, seed_traffic, stable_ids, topics

JUDGED = datetime(2026, 3, 3, 3, 0, 31, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_reference_cache() -> None:
    references.clear_cache()


def labelled_reference(db: Session, t: Topics):
    """The test services' reference, with every other ticket labelled and 90% of those right."""
    version_id = with_reference(db, t)
    ids = stable_ids("traffic", f"{DAY.isoformat()}/{timedelta(days=1)}/0/None", 600)
    seed_labels(
        db,
        t.window(10, 600),
        ids,
        labelled=range(0, 600, 2),
        wrong=range(0, 600, 20),
        recorded_at=DAY + timedelta(days=1),
    )
    return version_id


def rejudge(db: Session, horizon_s: int = 3600) -> late_labels.RejudgeReport:
    return late_labels.rejudge_window(
        db, settings=SETTINGS, window=WINDOW, segment="all", horizon_s=horizon_s, judged_at=JUDGED
    )


def test_a_window_without_labels_is_insufficient_at_its_horizon_and_opens_nothing(
    db: Session,
) -> None:
    t = topics()
    version_id = labelled_reference(db, t)
    seed_traffic(
        db, t.window(40, 150), version_id=version_id, start=WINDOW.start, span=timedelta(hours=1)
    )
    report = rejudge(db)
    rows = repository.signal_rows(db, window_size_s=3600, window_end=WINDOW.end)
    assert [r.signal for r in rows] == ["label_accuracy@1h"]
    assert rows[0].insufficient and rows[0].details["horizon_s"] == 3600
    assert report.severity == "none" and report.events == []
    assert db.scalars(select(Alert)).all() == []


def test_each_horizon_has_its_row_and_a_window_proved_wrong_opens_one_alert(db: Session) -> None:
    t = topics()
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
        recorded_at=WINDOW.end + timedelta(minutes=30),
    )
    first, later = rejudge(db, 3600), rejudge(db, 86400)
    rows = {
        r.signal: r for r in repository.signal_rows(db, window_size_s=3600, window_end=WINDOW.end)
    }
    assert set(rows) == {"label_accuracy@1h", "label_accuracy@1d"}
    assert all(r.drifted and r.value == pytest.approx(0.5, abs=0.1) for r in rows.values())
    # all on hourly windows: a sixth of the budget, a tenth of it late, over three horizons
    assert rows["label_accuracy@1h"].details["alpha"] == pytest.approx(0.1 / 6 / 720 / 3)
    assert first.severity == "critical" and len(first.events) == 1
    assert later.severity == "critical" and later.events == []  # the window has its alert
    alert = db.scalars(select(Alert)).one()
    assert alert.id == first.events[0].alert_id
    assert rows["label_accuracy@1h"].details["alert_id"] == str(alert.id)
    assert "alert_id" not in rows["label_accuracy@1d"].details
    assert (alert.rule, alert.last_window_end, alert.opened_at) == (
        "late_labels",
        WINDOW.end,
        JUDGED,
    )
    assert alert.evidence["horizon"] == "1h"
    assert alert.evidence["window"]["start"] == WINDOW.start.isoformat()
    assert alert.threshold == pytest.approx(-math.log(alert.evidence["alpha"]))
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "alert.open")).one()
    assert audit.actor == "monitor" and audit.target == str(alert.id)
