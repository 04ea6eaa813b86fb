"""A late-label alert says which past window it is about and when it was judged, on the console,
the dashboards and its own page; the budget panel shows each stream's late-label rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, delete, pool
from sqlalchemy.orm import Session

from agent.db import sqlalchemy_url
from agent.models import Alert, SignalValue
from tests.factories import make_alert, make_signal_value

START = "2026-03-03T01:00:00+00:00"
END = "2026-03-03T02:00:00+00:00"


def test_a_late_label_alert_names_its_window_and_horizon(live_ui):
    engine = create_engine(sqlalchemy_url(live_ui.database_url), poolclass=pool.NullPool)
    with Session(engine) as db, db.begin():
        alert = make_alert(
            db,
            rule="late_labels",
            severity="critical",
            last_window_end=datetime.fromisoformat(END),
            evidence={
                "window": {"size_s": 3600, "start": START, "end": END},
                "horizon": "1h",
                "judged_at": "2026-03-03T03:00:31+00:00",
                "accuracy": 0.5,
                "label_accuracy": {"reference_accuracy": 0.9},
            },
            explanation={"summary": "Labels that arrived after the 1h window closed"},
        )
        alert_id = alert.id
        make_signal_value(
            db,
            signal="evidence_sequential",
            segment="all",
            window_size_s=3600,
            window_end=datetime.now(UTC) - timedelta(hours=1),
            details={"budget_share": 1.0, "window_alpha": 5.6e-4, "late_label_alpha": 4.6e-5},
        )
    client, _ = live_ui.login("oscar")
    try:
        console = client.get("/ops").text
        dashboards = client.get("/dashboards").text
        page = client.get(f"/ops/alerts/{alert_id}").text
    finally:
        client.close()
        with Session(engine) as db, db.begin():  # the UI's database is shared by the session
            db.execute(delete(Alert).where(Alert.id == alert_id))
            db.execute(delete(SignalValue).where(SignalValue.signal == "evidence_sequential"))
        engine.dispose()
    line = f"past window {START} to {END} · judged 1h after it closed"
    for html in (console, dashboards, page):
        assert line in html
    assert "accuracy 0.5 against the reference's 0.9" in page
    budget = dashboards[dashboards.index('id="budget"') :]
    assert "Late-label α (per horizon)" in budget and "4.60e-05" in budget
