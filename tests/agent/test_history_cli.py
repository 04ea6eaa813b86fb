"""``ticketwatch load-history`` as a user runs it: progress lines when the output is a pipe."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from agent.commands.export_opts import ProgressLines
from tests.conftest import Servers

QUEUES = [("transfers", "P3"), ("card_orders", "P4"), ("top_ups", "P4")]


def write_history(path: Path, n: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "queue", "priority"])
        for i in range(n):
            queue, priority = QUEUES[i % len(QUEUES)]
            writer.writerow([f"ticket {i} about {queue.replace('_', ' ')}", queue, priority])
    return path


def test_progress_lines_say_count_share_rate_and_time_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = ProgressLines("loading history", 1000, every_s=0)
    lines(400)
    lines(600)
    out = capsys.readouterr().err.splitlines()
    assert re.fullmatch(r"loading history: 400/1,000 \(40%, [\d,]+/s, ETA (\d+m)?\d+s\)", out[0])
    assert re.fullmatch(r"loading history: 1,000/1,000 \(100%, [\d,]+/s\)", out[1])


def test_quiet_between_lines_but_always_at_the_end(capsys: pytest.CaptureFixture[str]) -> None:
    lines = ProgressLines("loading history", 100, every_s=3600)
    for _ in range(10):
        lines(10)
    assert capsys.readouterr().err.count("loading history:") == 1  # only 100/100


def test_load_history_piped_prints_progress_lines_and_uses_the_workers(
    tmp_path: Path, servers: Servers, fresh_db_url: str
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": fresh_db_url,
        "REDIS_URL": servers.redis_url,
        "TICKETWATCH_DATA_DIR": str(servers.data_dir),
        "TICKETWATCH_EMBEDDED_AUTOSTART": "false",
        "TICKETWATCH_LOAD_WORKERS": "2",
    }
    history = write_history(tmp_path / "history.csv", 60)
    done = subprocess.run(
        [sys.executable, "-m", "agent", "load-history", str(history)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"^loading history: 60/60 \(100%, [\d,]+/s\)$", done.stderr, re.M)
    assert "60 loaded, 0 already present" in done.stdout
    assert "2 embedding workers" in done.stdout
    with psycopg.connect(fresh_db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM outcomes o JOIN tickets t ON t.id = o.ticket_id "
            "WHERE t.source = 'history:history' AND o.embedding IS NOT NULL"
        ).fetchone()
    assert row == (60,)
