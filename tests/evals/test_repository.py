"""The evals' SQL reads against a real, migrated Postgres (the soak benchmark's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from agent.db import sqlalchemy_url
from evals.repository import database_bytes, monitor_activity, table_bytes
from evals.repository import tickets_without_one_final_decision as count_lost
from tests.factories import make_alert, make_decision, make_signal_value, make_ticket


def test_lost_counts_accepted_tickets_without_one_final_decision(fresh_db_url: str) -> None:
    engine = create_engine(sqlalchemy_url(fresh_db_url))
    with Session(engine) as db:
        decided = make_decision(db).ticket_id
        undecided = make_ticket(db).id
        shadowed = make_ticket(db)
        make_decision(db, shadowed, is_shadow=True, is_final=False)
        ids = [str(t) for t in (decided, undecided, shadowed.id)]
        db.commit()
    engine.dispose()
    ids.append("00000000-0000-4000-8000-000000000001")  # never stored
    # undecided, the shadow-only one and the one never stored are lost (a second final
    # decision is refused by a unique index, so none has two)
    assert count_lost(fresh_db_url, ids) == (3, 0)
    assert count_lost(fresh_db_url, [str(decided)]) == (0, 0)


def test_monitor_activity_counts_windows_since_a_time(fresh_db_url: str) -> None:
    engine = create_engine(sqlalchemy_url(fresh_db_url))
    end = datetime(2026, 1, 1, tzinfo=UTC)
    with Session(engine) as db:
        for signal in ("a", "b"):
            make_signal_value(db, signal=signal, window_end=end, window_size_s=60)
        make_signal_value(db, signal="a", window_end=end + timedelta(minutes=1), window_size_s=60)
        make_alert(db)
        db.commit()
    engine.dispose()
    before = datetime.now(UTC) - timedelta(hours=1)
    assert monitor_activity(fresh_db_url, before) == {"windows": 2, "signal_rows": 3, "alerts": 1}
    later = datetime.now(UTC) + timedelta(hours=1)
    assert monitor_activity(fresh_db_url, later)["windows"] == 0
    assert database_bytes(fresh_db_url) > 1_000_000
    sizes = table_bytes(fresh_db_url)
    assert {"tickets", "decisions", "signal_values", "alerts"} <= set(sizes)
    assert sizes["signal_values"] > 0
