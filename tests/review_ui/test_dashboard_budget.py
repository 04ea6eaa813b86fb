"""The dashboards page shows how the deployment's false-alarm budget is split across streams."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, delete, pool
from sqlalchemy.orm import Session

from agent.db import sqlalchemy_url
from agent.models import SignalValue
from tests.factories import make_signal_value


def test_the_budget_panel_lists_each_streams_share_rate_and_cusum(live_ui):
    engine = create_engine(sqlalchemy_url(live_ui.database_url), poolclass=pool.NullPool)
    end = datetime(2026, 2, 1, tzinfo=UTC)
    streams = [  # segment, size, share, alpha, ARL, CUSUM, threshold, drifting
        ("all", 3600, 1 / 6, 1.157e-4, 8640.0, 7.9, 7.21, True),
        ("channel:app", 3600, 0.0093, 6.4e-6, 154_800.0, 0.4, 10.1, False),
    ]
    with Session(engine) as db, db.begin():
        for segment, size, share, alpha, arl, cusum, threshold, drifting in streams:
            for back, value in ((1, 0.0), (0, cusum)):  # only the latest row is shown
                make_signal_value(
                    db,
                    signal="evidence_sequential",
                    segment=segment,
                    window_size_s=size,
                    window_end=end - timedelta(seconds=size * back),
                    value=value,
                    threshold=threshold,
                    drifted=drifting and back == 0,
                    details={"budget_share": share, "window_alpha": alpha, "sequential_arl": arl},
                )
    client, _ = live_ui.login("rita")
    try:
        page = client.get("/dashboards").text
    finally:
        client.close()
        with Session(engine) as db, db.begin():  # the UI's database is shared by the session
            db.execute(delete(SignalValue).where(SignalValue.signal == "evidence_sequential"))
        engine.dispose()
    panel = page[page.index('id="budget"') :]
    panel = panel[: panel.index("</section>")]
    assert "streams judged so far hold 0.176 of it" in panel
    rows = panel.split("<tr>")[2:]
    assert "all · 60 min" in rows[0] and "0.1667" in rows[0] and "1.16e-04" in rows[0]
    assert "8,640" in rows[0] and "drifting" in rows[0]
    assert "channel:app · 60 min" in rows[1] and "154,800" in rows[1]
    assert "drifting" not in rows[1]
