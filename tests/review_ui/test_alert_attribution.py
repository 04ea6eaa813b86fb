"""An alert's page says whether the world drifted or the change regressed, with the figures."""

from __future__ import annotations

from sqlalchemy import create_engine, delete, pool
from sqlalchemy.orm import Session

from agent.db import sqlalchemy_url
from agent.models import Alert
from monitor.stats.attribution import attribute
from tests.factories import make_alert


def test_the_alert_page_shows_the_attribution_verdict_and_its_figures(live_ui):
    result = attribute([False] * 10 + [True] * 30, [True] * 40)
    doc = {**result.as_dict(), "current_version": "1.1.0", "previous_version": "1.0.0"}
    engine = create_engine(sqlalchemy_url(live_ui.database_url), poolclass=pool.NullPool)
    with Session(engine) as db, db.begin():
        attributed = make_alert(db, evidence={"score": 4.2, "attribution": doc}).id
        waiting = make_alert(db, segment="channel:email").id
    client, _ = live_ui.login("oscar")
    try:
        page = client.get(f"/ops/alerts/{attributed}").text
        pending = client.get(f"/ops/alerts/{waiting}").text
    finally:
        client.close()
        with Session(engine) as db, db.begin():  # the UI's database is shared by the session
            db.execute(delete(Alert).where(Alert.id.in_([attributed, waiting])))
        engine.dispose()
    panel = page[page.index('id="attribution"') :]
    assert "change regressed" in panel
    assert "current 1.1.0</td><td>30 / 40" in panel
    assert "previous 1.0.0</td><td>40 / 40" in panel
    assert "p = 0.00195" in panel  # exact McNemar on 10 discordant tickets, all one way
    assert "Not attributed yet" in pending
