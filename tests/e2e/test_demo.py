"""The README's first command: ``ticketwatch demo`` end to end, as a user runs it.

It gets its own database and data directory; everything else is what a user gets: history
embedded and loaded, a calibrated version, the API as a process, the kill switch, and the
replayed launch that the monitor must catch.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

from tests.conftest import Servers
from tests.e2e.processes import ticketwatch


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
    assert "false alarms before it: 0" in out
    # per ticket, before the monitor's alert: the novelty gate sends the launch to people
    assert re.search(r"the first launch ticket went to humans as novel at .* before the alert", out)
    assert "cluster of" in out  # the alert names the new tickets
    assert (tmp_path / "replays" / "demo_launch" / "index.html").stat().st_size > 10_000
    assert (tmp_path / "demo" / "api_key").stat().st_mode & 0o077 == 0
    with psycopg.connect(servers.database("postgres")) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'tw_replay_%'"
        ).fetchone()
    assert left == (0,), "the demo's scratch database was not dropped"
    with psycopg.connect(fresh_db_url) as conn:
        decisions = conn.execute("SELECT count(*) FROM decisions").fetchone()
    assert decisions is not None and decisions[0] >= 13  # the examples and the switched one
