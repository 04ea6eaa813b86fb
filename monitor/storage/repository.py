"""All of the monitor's SQL on windows, references, calibrations and signal values.

Alerts and webhook deliveries live in :mod:`monitor.storage.alerts`, the explanations' reads
in :mod:`monitor.storage.explanations`. Functions take the caller's
session and never commit: the task or command owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from pgvector.psycopg import register_vector
from sqlalchemy import String, func, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from agent.models import (
    AgentVersion,
    Decision,
    MonitorCalibration,
    MonitorReference,
    Outcome,
    SignalValue,
    TaxonomyRecord,
    Tenant,
    Ticket,
    VersionLabel,
)
from agent.taxonomy import Taxonomy
from monitor.stats.samples import DecisionRow, HistoryRow
from monitor.stats.windows import stream_of
from monitor.storage.segments import (
    DECISION_SEGMENT,
    HISTORY_SEGMENT,
    STREAM_SQL,
    TENANT_SEGMENT,
    segment_filter,
    with_tenant,
)

# The agent's decisions of one stream (production's final ones by default; a canary's final
# ones or a shadow's; never tickets no version saw: a global kill switch or no production
# version) on tickets received in [start, end). Above ``limit`` rows,
# a deterministic uniform sample (by the hash of the ticket's source and external id, so the same
# tickets give the same sample, in the same order, whatever ids they were given).
WINDOW_SQL = """
SELECT t.id, t.channel, {tenant}, d.queue, d.priority, d.routed_to, d.mode, d.queue_probs,
       d.confidence, d.knn_consensus, d.latency_ms, d.cost_usd::float8,
       d.prompt_tokens + d.completion_tokens,
       d.error IS NOT NULL, (d.model IS NOT NULL AND d.model = v.fallback_model),
       r.verdict, COALESCE(r.inclusion_prob, d.inclusion_prob), o.queue, t.embedding,
       count(*) OVER ()
FROM decisions d
JOIN tickets t ON t.id = d.ticket_id
JOIN agent_versions v ON v.id = d.agent_version_id
{tenant_join}
LEFT JOIN reviews r ON r.decision_id = d.id
LEFT JOIN outcomes o ON o.ticket_id = t.id AND o.source <> 'history'
WHERE {stream} AND t.embedding IS NOT NULL
  AND t.received_at >= %(start)s AND t.received_at < %(end)s {filters}
ORDER BY md5(t.source || ':' || t.external_id), t.id
LIMIT %(limit)s
"""

HISTORY_SQL = """
SELECT t.id, t.channel, {tenant}, o.queue, o.priority, o.embedding, count(*) OVER ()
FROM outcomes o
JOIN tickets t ON t.id = o.ticket_id
{tenant_join}
WHERE o.source = 'history' AND o.embedding IS NOT NULL AND o.recorded_at < %(end)s {filters}
ORDER BY md5(t.source || ':' || t.external_id), t.id
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class VersionInfo:
    """The agent version a window is judged for, and its classes."""

    id: uuid.UUID
    semver: str
    queues: tuple[str, ...]


def _driver(session: Session) -> psycopg.Connection[Any]:
    conn = session.connection().connection.driver_connection
    assert isinstance(conn, psycopg.Connection)
    register_vector(conn)
    return conn


def window_rows(
    session: Session,
    *,
    start: datetime | None,
    end: datetime,
    segment: str,
    limit: int,
    version_id: uuid.UUID | None = None,
) -> list[DecisionRow]:
    """The decisions of a window of a segment's stream (or a traffic reference, with
    ``version_id``: the version's served decisions)."""
    where, params = segment_filter(segment, DECISION_SEGMENT)
    stream = STREAM_SQL[stream_of(segment)]
    if version_id is not None:
        where += " AND d.agent_version_id = %(version_id)s"
        params["version_id"] = version_id
        stream = STREAM_SQL["served"]
    params.update(start=start, end=end, limit=limit)
    with _driver(session).cursor(binary=True) as cur:
        cur.execute(with_tenant(WINDOW_SQL, where, stream=stream).encode(), params)
        return [DecisionRow(*row) for row in cur.fetchall()]


def history_rows(session: Session, *, end: datetime, segment: str, limit: int) -> list[HistoryRow]:
    """Labelled history recorded before ``end`` (a history reference)."""
    where, params = segment_filter(segment, HISTORY_SEGMENT)
    params.update(end=end, limit=limit)
    with _driver(session).cursor(binary=True) as cur:
        cur.execute(with_tenant(HISTORY_SQL, where).encode(), params)
        return [HistoryRow(*row) for row in cur.fetchall()]


def segments_seen(
    session: Session, *, start: datetime, end: datetime
) -> list[tuple[str, str, str, str]]:
    """Distinct (predicted queue, priority, channel, tenant) of a window's production
    decisions."""
    tenant = aliased(Tenant, name="n")
    slug = literal_column(TENANT_SEGMENT, type_=String)
    stmt = (
        select(Decision.queue, Decision.priority, Ticket.channel, slug)
        .join(Ticket, Ticket.id == Decision.ticket_id)
        .outerjoin(tenant, tenant.id == Ticket.tenant_id)
        .where(
            Decision.is_final,
            Decision.stream == "production",
            Decision.agent_version_id.is_not(None),
            Ticket.received_at >= start,
            Ticket.received_at < end,
        )
        .distinct()
    )
    return [(q or "", p or "", c, n or "") for q, p, c, n in session.execute(stmt).all()]


def streams_seen(session: Session, *, start: datetime, end: datetime) -> list[str]:
    """The candidate streams (``canary``, ``shadow``) with decisions in a window."""
    stmt = (
        select(Decision.stream)
        .join(Ticket, Ticket.id == Decision.ticket_id)
        .where(
            Decision.stream != "production",
            Decision.agent_version_id.is_not(None),
            Ticket.received_at >= start,
            Ticket.received_at < end,
        )
        .distinct()
    )
    return sorted(session.scalars(stmt))


def production_version(session: Session) -> VersionInfo | None:
    """The version labelled production, with its taxonomy's queues."""
    row = session.execute(
        select(AgentVersion.id, AgentVersion.semver, TaxonomyRecord.definition)
        .join(VersionLabel, VersionLabel.agent_version_id == AgentVersion.id)
        .join(TaxonomyRecord, TaxonomyRecord.id == AgentVersion.taxonomy_id)
        .where(VersionLabel.label == "production")
    ).first()
    if row is None:
        return None
    return VersionInfo(row[0], row[1], Taxonomy.model_validate(row[2]).queue_names)


def semver_of(session: Session, version_id: uuid.UUID) -> str | None:
    return session.scalar(select(AgentVersion.semver).where(AgentVersion.id == version_id))


# --- references ---------------------------------------------------------------------


def active_references(session: Session) -> list[MonitorReference]:
    """Active references, newest first."""
    stmt = (
        select(MonitorReference)
        .where(MonitorReference.active)
        .order_by(MonitorReference.created_at.desc(), MonitorReference.id)
    )
    return list(session.scalars(stmt))


def get_reference(session: Session, reference_id: uuid.UUID) -> MonitorReference | None:
    return session.get(MonitorReference, reference_id)


def add_reference(session: Session, **values: Any) -> MonitorReference:
    row = MonitorReference(**values)
    session.add(row)
    session.flush()
    return row


def deactivate_references(session: Session, *, version_id: uuid.UUID | None, kind: str) -> None:
    """Retire the active references of a version (or the history ones) before a new one."""
    cond = (
        MonitorReference.agent_version_id.is_(None)
        if version_id is None
        else MonitorReference.agent_version_id == version_id
    )
    session.execute(
        update(MonitorReference)
        .where(cond, MonitorReference.kind == kind, MonitorReference.active)
        .values(active=False)
    )


def first_decision_at(session: Session, version_id: uuid.UUID) -> datetime | None:
    """When the earliest ticket the version decided was received."""
    return session.scalar(
        select(func.min(Ticket.received_at))
        .join(Decision, Decision.ticket_id == Ticket.id)
        .where(Decision.agent_version_id == version_id, Decision.is_final)
    )


def count_decisions(
    session: Session, *, version_id: uuid.UUID, start: datetime, end: datetime
) -> int:
    stmt = (
        select(func.count())
        .select_from(Decision)
        .join(Ticket, Ticket.id == Decision.ticket_id)
        .where(
            Decision.agent_version_id == version_id,
            Decision.is_final,
            Decision.is_shadow.is_(False),
            Ticket.embedding.is_not(None),
            Ticket.received_at >= start,
            Ticket.received_at < end,
        )
    )
    return int(session.scalar(stmt) or 0)


def count_history(session: Session) -> int:
    stmt = (
        select(func.count())
        .select_from(Outcome)
        .where(Outcome.source == "history", Outcome.embedding.is_not(None))
    )
    return int(session.scalar(stmt) or 0)


# --- calibrations -------------------------------------------------------------------


def calibration_row(
    session: Session, *, reference_id: uuid.UUID, segment: str, n_bucket: int
) -> MonitorCalibration | None:
    return session.scalar(
        select(MonitorCalibration).where(
            MonitorCalibration.reference_id == reference_id,
            MonitorCalibration.segment == segment,
            MonitorCalibration.n_bucket == n_bucket,
        )
    )


def save_calibration(session: Session, **values: Any) -> None:
    """Insert or replace the calibration of (reference, segment, bucket)."""
    stmt = insert(MonitorCalibration).values(**values)
    keys = ("reference_id", "segment", "n_bucket")
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={k: stmt.excluded[k] for k in values if k not in keys} | {"computed_at": func.now()},
    )
    session.execute(stmt)


def count_calibrations(session: Session, reference_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(MonitorCalibration.reference_id == reference_id)
    return int(session.scalar(stmt) or 0)


def lock(session: Session, key: str) -> None:
    """A transaction-scoped advisory lock: one worker at a time per key."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


# --- signal values ------------------------------------------------------------------


def upsert_signal_values(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Write a window's rows; recomputing the window replaces them (same keys, same rows)."""
    if not rows:
        return
    stmt = insert(SignalValue).values(list(rows))
    keys = ("window_size_s", "window_end", "segment", "signal")
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={k: stmt.excluded[k] for k in rows[0] if k not in keys} | {"computed_at": func.now()},
    )
    session.execute(stmt)


def signal_rows(
    session: Session, *, window_size_s: int, window_end: datetime, segment: str | None = None
) -> list[SignalValue]:
    stmt = select(SignalValue).where(
        SignalValue.window_size_s == window_size_s, SignalValue.window_end == window_end
    )
    if segment is not None:
        stmt = stmt.where(SignalValue.segment == segment)
    return list(session.scalars(stmt.order_by(SignalValue.segment, SignalValue.signal)))


def computed_segments(session: Session, *, window_size_s: int, window_end: datetime) -> set[str]:
    """The segments of a window that have rows (computed, perhaps as insufficient)."""
    stmt = select(SignalValue.segment).where(
        SignalValue.window_size_s == window_size_s, SignalValue.window_end == window_end
    )
    return set(session.scalars(stmt.distinct()))


def evidence_severities(
    session: Session, *, segment: str, window_size_s: int, ends: Iterable[datetime]
) -> dict[datetime, str]:
    """The evidence severity recorded for each of these windows (absent: not computed)."""
    stmt = select(SignalValue.window_end, SignalValue.details["severity"].astext).where(
        SignalValue.signal == "evidence",
        SignalValue.segment == segment,
        SignalValue.window_size_s == window_size_s,
        SignalValue.window_end.in_(list(ends)),
        SignalValue.insufficient.is_(False),
    )
    return {end: severity or "none" for end, severity in session.execute(stmt).all()}


def previous_signal_row(
    session: Session, *, signal: str, segment: str, window_size_s: int, before: datetime
) -> SignalValue | None:
    """The stream's latest computed (sufficient) row of ``signal`` before ``before``."""
    stmt = (
        select(SignalValue)
        .where(
            SignalValue.signal == signal,
            SignalValue.segment == segment,
            SignalValue.window_size_s == window_size_s,
            SignalValue.window_end < before,
            SignalValue.insufficient.is_(False),
        )
        .order_by(SignalValue.window_end.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def judged_segments(session: Session, *, window_size_s: int, window_end: datetime) -> list[str]:
    """The segments of a window judged at close with enough tickets (a sufficient evidence row)."""
    stmt = (
        select(SignalValue.segment)
        .where(
            SignalValue.signal == "evidence",
            SignalValue.window_size_s == window_size_s,
            SignalValue.window_end == window_end,
            SignalValue.insufficient.is_(False),
        )
        .order_by(SignalValue.segment)
    )
    return list(session.scalars(stmt))


def window_evidence_scores(
    session: Session, *, window_size_s: int, window_end: datetime
) -> dict[str, float]:
    """Evidence score per segment already computed for a window."""
    stmt = select(SignalValue.segment, SignalValue.value).where(
        SignalValue.signal == "evidence",
        SignalValue.window_size_s == window_size_s,
        SignalValue.window_end == window_end,
        SignalValue.value.is_not(None),
    )
    return {segment: float(value or 0.0) for segment, value in session.execute(stmt).all()}


def latest_windows(session: Session) -> list[tuple[int, datetime, int]]:
    """(window size, latest window end, segments) of the computed windows."""
    stmt = (
        select(
            SignalValue.window_size_s,
            func.max(SignalValue.window_end),
            func.count(func.distinct(SignalValue.segment)),
        )
        .where(SignalValue.signal == "evidence")
        .group_by(SignalValue.window_size_s)
        .order_by(SignalValue.window_size_s)
    )
    return [(int(s), end, int(n)) for s, end, n in session.execute(stmt).all()]
