"""The README's first command: ``ticketwatch demo`` end to end, as a user runs it.

It gets its own database and data directory; everything else is what a user gets: history
embedded and loaded, a calibrated version, the API as a process, the kill switch, and the
replayed launch that the monitor must catch.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from tests.conftest import Servers
from tests.e2e.processes import ticketwatch

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]  # the whole demo


def test_the_demo_routes_tickets_flips_the_switch_and_catches_the_launch(
    servers: Servers, fresh_db_url: str, redis_url: str, tmp_path: Path
) -> None:
    out = ticketwatch(
        ["demo"],
        env={
            "DATABASE_URL": fresh_db_url,
            "REDIS_URL": redis_url,
            "TICKETWATCH_DATA_DIR": str(tmp_path),
            "COLUMNS": "200",
        },
        timeout_s=900,
    )
    matched = re.search(r"(\d+)/(\d+) predicted queues match the human label", out)
    assert matched and int(matched[1]) >= int(matched[2]) - 2, out[-3000:]
    assert "with the switch on: routed_to=human_triage mode=kill_switch" in out
    caught = re.search(r"caught: an alert was open after (\d) window", out)
    assert caught and int(caught[1]) <= 2, out[-3000:]
    # Three calm hourly windows at one false alarm per 30 days each: "0" alone would fail
    # 4e-3-8e-3 of runs; two false alarms happen in at most 2e-5 (docs/testing.md).
    assert re.search(r"false alarms before it: [01]\b", out), out[-3000:]
    # per ticket, before the monitor's alert: the novelty gate sends the launch to people
    assert re.search(r"the first launch ticket went to humans as novel at .* before the alert", out)
    assert "cluster of" in out  # the alert names the new tickets
    assert (tmp_path / "replays" / "demo_launch" / "index.html").stat().st_size > 10_000
    assert (tmp_path / "demo" / "api_key").stat().st_mode & 0o077 == 0
    # where the demo tenant's customers write: its (enabled) portal, and the inbox
    assert re.search(r"http://127\.0\.0\.1:8000/portal/demo-[0-9a-f]{6}\b", out), out[-3000:]
    assert "ticketwatch inbox" in out
    with psycopg.connect(servers.database("postgres")) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'tw_replay_%'"
        ).fetchone()
    assert left == (0,), "the demo's scratch database was not dropped"
    with psycopg.connect(fresh_db_url) as conn:
        decisions = conn.execute("SELECT count(*) FROM decisions").fetchone()
    assert decisions is not None and decisions[0] >= 13  # the examples and the switched one
