"""All of the evals' SQL: golden sets, eval runs, history fingerprints, reviewed overrides, and
the demo's reads (sync psycopg: the demo drives a server it started, not a session of its own).
Creating and dropping the benchmarks' scratch databases is the bench harness's own bootstrap."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import EvalRun, GoldenSet, Outcome, Override, RelabelledOutcome, Ticket


async def golden_set(session: AsyncSession, name: str, version: str) -> GoldenSet | None:
    stmt = select(GoldenSet).where(GoldenSet.name == name, GoldenSet.version == version)
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_golden_set(session: AsyncSession, name: str) -> GoldenSet | None:
    stmt = (
        select(GoldenSet)
        .where(GoldenSet.name == name)
        .order_by(GoldenSet.created_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def add_golden_set(session: AsyncSession, **values: Any) -> GoldenSet:
    row = GoldenSet(**values)
    session.add(row)
    await session.flush()
    return row


async def golden_sets(session: AsyncSession) -> list[GoldenSet]:
    stmt = select(GoldenSet).order_by(GoldenSet.name, GoldenSet.created_at.desc())
    return list((await session.execute(stmt)).scalars())


async def add_eval_run(session: AsyncSession, **values: Any) -> EvalRun:
    row = EvalRun(**values)
    session.add(row)
    await session.flush()
    return row


async def latest_run(
    session: AsyncSession,
    *,
    agent_version_id: uuid.UUID,
    golden_set_id: uuid.UUID,
    context: dict[str, Any],
    absent: Sequence[str] = (),
) -> EvalRun | None:
    """The newest run of this version on this golden set under the same context (and none of
    the ``absent`` keys in its context)."""
    stmt = (
        select(EvalRun)
        .where(
            EvalRun.agent_version_id == agent_version_id,
            EvalRun.golden_set_id == golden_set_id,
            EvalRun.context.contains(context),
            *(~EvalRun.context.has_key(key) for key in absent),
        )
        .order_by(EvalRun.finished_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def recent_runs(session: AsyncSession, *, limit: int) -> list[EvalRun]:
    stmt = select(EvalRun).order_by(EvalRun.finished_at.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def history_fingerprint(session: AsyncSession) -> dict[str, Any]:
    """How many outcomes the history holds and when the last was recorded; and, once history
    was relabelled for a new taxonomy (``taxonomy migrate``), the same of the relabelled rows."""
    stmt = select(func.count(), func.max(Outcome.recorded_at)).select_from(Outcome)
    count, last = (await session.execute(stmt)).one()
    found = {"outcomes": int(count), "last_recorded_at": last.isoformat() if last else None}
    stmt = select(func.count(), func.max(RelabelledOutcome.relabelled_at)).select_from(
        RelabelledOutcome
    )
    relabelled, last_relabelled = (await session.execute(stmt)).one()
    if relabelled:
        found["relabelled"] = int(relabelled)
        found["last_relabelled_at"] = last_relabelled.isoformat()
    return found


async def latest_overrides(
    session: AsyncSession, *, since: datetime | None, reasons: list[str] | None
) -> list[Row[Any]]:
    """Each overridden ticket's latest override (the reviewers' last word), with the ticket's
    text and channel; then filtered by when it was made and why."""
    newest_first = func.row_number().over(
        partition_by=Override.ticket_id, order_by=Override.created_at.desc()
    )
    latest = (
        select(
            Override.ticket_id,
            Ticket.subject,
            Ticket.body,
            Ticket.channel,
            Override.new_queue,
            Override.new_priority,
            Override.old_queue,
            Override.old_priority,
            Override.reason_category,
            Override.created_at,
            newest_first.label("rank"),
        )
        .join(Ticket, Ticket.id == Override.ticket_id)
        .subquery()
    )
    stmt = select(latest).where(latest.c.rank == 1).order_by(latest.c.created_at)
    if since is not None:
        stmt = stmt.where(latest.c.created_at >= since)
    if reasons:
        stmt = stmt.where(latest.c.reason_category.in_(reasons))
    return list((await session.execute(stmt)).all())


def history_size(database_url: str) -> int:
    """The number of stored outcomes (the demo loads history only into an empty one)."""
    with psycopg.connect(database_url) as conn:
        return int(conn.execute("SELECT count(*) FROM outcomes").fetchone()[0])  # type: ignore[index]


def first_novel_ticket(database_url: str, external_ids: list[str]) -> dict[str, Any] | None:
    """The earliest received of these tickets whose final decision was ``novel``: its body,
    ``received_at`` and ``reason``."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT t.body, t.received_at, d.reason FROM decisions d "
            "JOIN tickets t ON t.id = d.ticket_id WHERE d.is_final AND d.mode = 'novel' "
            "AND t.external_id = ANY(%s) ORDER BY t.received_at LIMIT 1",
            (external_ids,),
        ).fetchone()


def latest_alert(database_url: str) -> dict[str, Any] | None:
    """The most recently opened alert's severity and explanation."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT severity, explanation FROM alerts ORDER BY opened_at DESC LIMIT 1"
        ).fetchone()


def shadow_decision_count(database_url: str) -> int:
    """How many shadow decisions the database holds (``bench shadow``)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM decisions WHERE is_shadow").fetchone()
    return int(row[0]) if row else 0


# --- the soak benchmark's reads (evals/bench/soak.py) ---


@contextmanager
def backend_pid(database_url: str) -> Iterator[int]:
    """The pid of the server process serving a connection, held open for the block (the
    backend exits when it closes)."""
    with psycopg.connect(database_url) as conn:
        yield int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]


def database_bytes(database_url: str) -> int:
    """The size of the database on disk, indexes and TOAST included."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0])  # type: ignore[index]


def table_bytes(database_url: str) -> dict[str, int]:
    """Each table of the public schema: its size with indexes and TOAST."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        ).fetchall()
    return {str(name): int(size) for name, size in rows}


def tickets_without_one_final_decision(
    database_url: str, ticket_ids: Sequence[str]
) -> tuple[int, int]:
    """Of these tickets: (those without a final served decision, stored or not; those with
    more than one)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n > 1) FROM ("
            " SELECT (SELECT count(*) FROM decisions d WHERE d.ticket_id = a.id"
            "  AND d.is_final AND NOT d.is_shadow) AS n"
            " FROM unnest(%s::uuid[]) AS a(id)) AS counted",
            (list(ticket_ids),),
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def monitor_activity(database_url: str, since: datetime) -> dict[str, int]:
    """What the monitor wrote since ``since``: windows computed, signal rows; alerts in all."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(DISTINCT (window_end, window_size_s)), count(*) "
            "FROM signal_values WHERE computed_at >= %s",
            (since,),
        ).fetchone()
        alerts = conn.execute("SELECT count(*) FROM alerts").fetchone()
    windows, signals = (int(row[0]), int(row[1])) if row else (0, 0)
    return {"windows": windows, "signal_rows": signals, "alerts": int(alerts[0]) if alerts else 0}
