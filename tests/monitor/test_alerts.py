"""Alert lifecycle with hysteresis, against the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.config import Settings
from agent.models import Alert, AuditEntry
from monitor.services import alert_lifecycle, compute
from monitor.stats.evidence import Evidence, WhatMoved
from monitor.stats.hysteresis import Severity
from monitor.stats.windows import Window
from tests.factories import make_alert, make_signal_value
from tests.monitor.traffic import production_version

START = datetime(2026, 3, 1, tzinfo=UTC)
SCORES = {"none": 3.0, "warning": 25.0, "critical": 60.0}


def window(i: int) -> Window:
    return Window(900, START + timedelta(minutes=15 * i))


def evidence(severity: Severity) -> Evidence:
    moved = WhatMoved("none" if severity == "none" else "new_content", "test", {})
    return Evidence(SCORES[severity], 0.5, 20.0, 50.0, severity, (), moved)


def apply(db: Session, i: int, severity: Severity, *, segment: str = "all", **kw: int):
    doc = {"score": SCORES[severity], "window": i}
    return alert_lifecycle.advance(
        db,
        window=window(i),
        segment=segment,
        evidence=evidence(severity),
        evidence_doc=doc,
        explain=lambda: {"clusters": [], "window": i},
        open_after=kw.get("open_after", 1),
        clear_after=kw.get("clear_after", 3),
    )


def stream(db: Session, segment: str = "all") -> list[Alert]:
    return list(db.scalars(select(Alert).where(Alert.segment == segment).order_by(Alert.opened_at)))


def test_an_alert_opens_escalates_holds_and_clears_after_clean_windows(db: Session) -> None:
    assert apply(db, 1, "none") is None and stream(db) == []
    opened = apply(db, 2, "warning")
    assert opened is not None and opened.kind == "opened" and opened.severity == "warning"
    escalated = apply(db, 3, "critical")
    assert escalated is not None and escalated.kind == "escalated"
    (alert,) = stream(db)
    assert alert.severity == "critical" and alert.explanation == {"clusters": [], "window": 3}
    assert apply(db, 4, "none") is None and alert.clean_windows == 1
    assert apply(db, 5, "warning") is None  # trouble again: the count restarts, no step down
    assert alert.clean_windows == 0 and alert.severity == "critical"
    assert alert.evidence == {"score": 25.0, "window": 5}
    assert apply(db, 6, "none") is None and apply(db, 7, "none") is None
    assert alert.status == "open" and alert.clean_windows == 2
    resolved = apply(db, 8, "none")
    assert resolved is not None and resolved.kind == "resolved"
    assert (alert.status, alert.resolved_by, alert.last_window_end) == (
        "resolved",
        "monitor",
        window(8).end,
    )
    audited = db.execute(
        select(AuditEntry.actor, AuditEntry.action, AuditEntry.details).where(
            AuditEntry.target == str(alert.id)
        )
    ).all()
    assert [(actor, action) for actor, action, _ in audited] == [
        ("monitor", "alert.open"),
        ("monitor", "alert.resolve"),
    ]
    assert audited[0].details["window_end"] == window(2).end.isoformat()
    assert audited[1].details["severity"] == "critical"


def test_a_window_is_applied_once(db: Session) -> None:
    assert apply(db, 2, "critical") is not None
    assert apply(db, 2, "critical") is None  # recomputed: nothing new
    assert apply(db, 1, "critical") is None  # an older window (a backfill) changes nothing
    assert len(stream(db)) == 1


def test_after_resolving_a_new_episode_is_a_new_alert(db: Session) -> None:
    apply(db, 1, "critical")
    for i in (2, 3, 4):
        apply(db, i, "none")
    reopened = apply(db, 5, "warning")
    assert reopened is not None and reopened.kind == "opened"
    assert [a.status for a in stream(db)] == ["resolved", "open"]


def test_streams_are_per_segment_and_window_size(db: Session) -> None:
    apply(db, 1, "critical", segment="channel:email")
    assert apply(db, 1, "critical", segment="all") is not None
    assert len(stream(db, "channel:email")) == len(stream(db, "all")) == 1


def test_an_acknowledged_alert_still_clears_on_clean_windows(db: Session) -> None:
    apply(db, 1, "critical")
    (alert,) = stream(db)
    alert.status = "acknowledged"
    db.flush()
    for i in (2, 3, 4):
        last = apply(db, i, "none")
    assert last is not None and last.kind == "resolved" and alert.status == "resolved"


def test_warnings_must_persist_when_open_after_asks(db: Session) -> None:
    assert apply(db, 1, "warning", open_after=2) is None
    make_signal_value(
        db,
        window_size_s=900,
        window_end=window(1).end,
        signal="evidence",
        details={"severity": "warning"},
    )
    opened = apply(db, 2, "warning", open_after=2)
    assert opened is not None and opened.kind == "opened"


def test_a_lone_warning_after_a_clean_window_waits(db: Session) -> None:
    make_signal_value(
        db,
        window_size_s=900,
        window_end=window(1).end,
        signal="evidence",
        details={"severity": "none"},
    )
    assert apply(db, 2, "warning", open_after=2) is None
    assert apply(db, 3, "critical", open_after=2) is not None  # critical opens at once


def test_an_insufficient_window_neither_opens_nor_clears(db: Session) -> None:
    production_version(db)
    end = window(5).end
    alert = make_alert(
        db,
        segment="all",
        window_size_s=900,
        clean_windows=2,
        last_window_end=end - timedelta(minutes=15),
    )
    report = compute.compute_window(db, settings=Settings(), window=window(5), segment="all")
    assert report.insufficient and report.events == []
    db.refresh(alert)
    assert (alert.status, alert.clean_windows) == ("open", 2)


@pytest.mark.parametrize("event", ["opened", "escalated", "resolved"])
def test_webhook_payloads_carry_the_alert_and_a_stable_delivery_id(db: Session, event) -> None:
    alert = make_alert(db, actions={"kill_switch": {"key": "channel:email"}})
    body = alert_lifecycle.webhook_payload(alert, event)
    assert body["event"] == f"alert.{event}"
    assert body["alert"]["id"] == str(alert.id) and body["alert"]["segment"] == "all"
    assert body["alert"]["actions"] == {"kill_switch": {"key": "channel:email"}}
    assert body["delivery_id"] == alert_lifecycle.webhook_payload(alert, event)["delivery_id"]
