"""What a fault did, counted from the client's log, the database and the worker's log."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from tests.faults.load import Submission
from tests.faults.stack import GRACE_S, WINDOW_S

# Celery's line for a finished task: "Task monitor.compute_window[<id>] succeeded in 0.1s: {...}"
COMPUTED = re.compile(
    r"Task monitor\.compute_window\[[^\]]+\] succeeded in [^:]+: "
    r"\{'window_size_s': (\d+), 'window_end': '([^']+)', 'segment': '([^']+)'"
)


@dataclass(frozen=True)
class Tickets:
    """Each ticket the client sent, as the database holds it."""

    rows: dict[str, int]  # external id -> ticket rows
    finals: dict[str, int]  # external id -> final decisions (over all its rows)
    modes: Counter[str]  # final decisions by mode
    windows: set[datetime]  # ends of the monitor windows the tickets were received in


def tickets_of(database_url: str, source: str) -> Tickets:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT t.external_id, count(DISTINCT t.id), count(d.id), "
            "array_agg(d.mode) FILTER (WHERE d.id IS NOT NULL), min(t.received_at) "
            "FROM tickets t LEFT JOIN decisions d ON d.ticket_id = t.id AND d.is_final "
            "WHERE t.source = %s GROUP BY t.external_id",
            (source,),
        ).fetchall()
    modes: Counter[str] = Counter()
    for row in rows:
        modes.update(row[3] or [])
    return Tickets(
        rows={r[0]: r[1] for r in rows},
        finals={r[0]: r[2] for r in rows},
        modes=modes,
        windows={window_end(r[4]) for r in rows},
    )


def window_end(at: datetime) -> datetime:
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % WINDOW_S + WINDOW_S, UTC)


def settle(
    database_url: str,
    source: str,
    sent: list[Submission],
    timeout_s: float = 120,
    tick: Callable[[], object] = lambda: None,
) -> Tickets:
    """The tickets once every one sent has exactly one final decision, or at the deadline (the
    reconciler finishes what an outage left undecided)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = tickets_of(database_url, source)
        done = all(found.finals.get(s.external_id) == 1 for s in sent)
        if done or time.monotonic() > deadline:
            return found
        tick()
        time.sleep(0.5)


def computed_windows(database_url: str, ends: set[datetime]) -> set[datetime]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT DISTINCT window_end FROM signal_values WHERE window_size_s = %s "
            "AND segment = 'all' AND window_end = ANY(%s)",
            (WINDOW_S, sorted(ends)),
        ).fetchall()
    return {r[0] for r in rows}


def wait_for_windows(
    database_url: str,
    ends: set[datetime],
    timeout_s: float = 150,
    tick: Callable[[], object] = lambda: None,
) -> set[datetime]:
    """The windows among ``ends`` still not computed at the deadline (skipped)."""
    last_due = max(ends) + timedelta(seconds=GRACE_S)
    deadline = time.monotonic() + timeout_s
    while True:
        missing = ends - computed_windows(database_url, ends)
        due = datetime.now(UTC) > last_due
        if (due and not missing) or time.monotonic() > deadline:
            return missing
        tick()
        time.sleep(1)


def computations(worker_log: Path) -> Counter[datetime]:
    """How often the worker finished each window of segment ``all`` (every start's lines)."""
    text = worker_log.read_text(errors="replace") if worker_log.exists() else ""
    return Counter(
        datetime.fromisoformat(end)
        for size, end, segment in COMPUTED.findall(text)
        if int(size) == WINDOW_S and segment == "all"
    )
