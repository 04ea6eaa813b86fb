"""The database and the broker stopped and restarted under load; the data disk nearly full."""

from __future__ import annotations

import os
import shutil

import psycopg
import pytest

from tests.faults.report import FaultResult
from tests.faults.scenario import Fault, run_fault
from tests.faults.stack import Stack

pytestmark = pytest.mark.e2e

BALLAST_LEFT = 64 * 1024  # bytes left free on the data disk during the fault


def test_postgres_stopped_and_restarted_loses_no_ticket(
    stack: Stack, record: list[FaultResult]
) -> None:
    postgres = stack.services.postgres
    fault = Fault("Postgres stopped 5 s, restarted", inject=postgres.stop, repair=postgres.start)
    outcome = run_fault(stack, fault)
    record.append(outcome)
    outcome.assert_nothing_lost()
    assert "503" in outcome.refusals, "the outage should have been answered 503"
    outcome.assert_monitor_whole()


def test_redis_stopped_and_restarted_loses_no_ticket(
    stack: Stack, record: list[FaultResult]
) -> None:
    redis = stack.services.redis
    fault = Fault("Redis stopped 5 s, restarted", inject=redis.stop, repair=redis.start)
    outcome = run_fault(stack, fault)
    record.append(outcome)
    outcome.assert_nothing_lost()
    # routing needs no Redis: the outage is invisible to the client
    assert outcome.refusals == "none", outcome.refusals
    outcome.assert_monitor_whole()


def test_a_nearly_full_data_disk_refuses_tickets_until_space_is_freed(
    stack: Stack, record: list[FaultResult]
) -> None:
    if not stack.tmpfs:
        pytest.skip("filling the data disk needs a tmpfs of its own: mounting one needs root")
    ballast = stack.data_dir / "ballast"

    def fill() -> None:
        # a fresh WAL segment first, so the database refuses writes (ENOSPC extending a
        # table) rather than crashing when its log needs a new file
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
            conn.execute("SELECT pg_switch_wal()")
        fill_disk(ballast, leave=BALLAST_LEFT)

    fault = Fault(
        "data disk full (64 KiB left) 8 s, space freed",
        inject=fill,
        repair=lambda: ballast.unlink(),
        hold_s=8.0,
    )
    outcome = run_fault(stack, fault)
    record.append(outcome)
    outcome.assert_nothing_lost()
    assert "503" in outcome.refusals, "the full disk should have been answered 503"
    # Redis refuses writes while its append-only file cannot grow (MISCONF), which Celery's
    # worker treats as unrecoverable and exits; compose's restart policy starts it again (as
    # the stack's supervisor does here), and beat's catch-up computes what it missed.
    outcome.assert_monitor_whole(may_exit=("worker",))


def fill_disk(path: os.PathLike[str], *, leave: int) -> None:
    """Write a file that leaves ``leave`` bytes free on its filesystem."""
    free = shutil.disk_usage(os.path.dirname(path)).free
    with open(path, "wb") as out:
        chunk = b"\0" * (1 << 20)
        remaining = max(0, free - leave)
        while remaining:
            remaining -= out.write(chunk[: min(len(chunk), remaining)])
