"""Decisions and their trace spans.

A graph run's record (decision, spans and the ticket's embedding in one statement) and the
final-decision lookup run on psycopg's autocommit pool with ``DECISION_COLUMNS`` from
:mod:`agent.models.tickets`; the reads of the UI and the API take an ORM session.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Decision, TraceSpan
from agent.models.tickets import DECISION_COLUMNS

FINAL_ROW = f"SELECT {', '.join(DECISION_COLUMNS)} FROM decisions WHERE ticket_id = %s AND is_final"

# A span as the recorder sends it (one JSON object per graph node), with its SQL type: declared
# once, for the trace_spans INSERT and the JSON record it is read from.
SPAN_FIELDS = (
    ("span_id", "text"),
    ("name", "text"),
    ("started_at", "timestamptz"),
    ("duration_ms", "float8"),
    ("input", "jsonb"),
    ("output", "jsonb"),
    ("error", "text"),
    ("attributes", "jsonb"),
)
_SPANS = f"""
s AS (
  INSERT INTO trace_spans (ticket_id, decision_id, trace_id, {", ".join(n for n, _ in SPAN_FIELDS)})
  SELECT %(ticket_id)s, d.id, %(trace_id)s, {", ".join(f"x.{n}" for n, _ in SPAN_FIELDS)}
  FROM d, jsonb_to_recordset(%(spans)s) AS x({", ".join(f"{n} {t}" for n, t in SPAN_FIELDS)})
)"""
_EMBEDDING = """
e AS (
  UPDATE tickets SET embedding = %(embedding)s, embedding_model = %(embedding_model)s
  WHERE id = %(ticket_id)s
)"""

# The budget hold of this run's model calls (if any) ends as the decision, carrying the call's
# actual cost, is written: one statement, so the spend is never counted twice nor missed.
_SETTLE = """
r AS (DELETE FROM budget_reservations WHERE id = %(reservation_id)s)"""


_WRITTEN = [c for c in DECISION_COLUMNS if c not in ("is_final", "is_shadow", "created_at")]


def _record_sql(with_embedding: bool) -> str:
    insert = (
        f"d AS (INSERT INTO decisions ({', '.join(_WRITTEN)}, is_final, is_shadow) VALUES "
        f"({', '.join(f'%({c})s' for c in _WRITTEN)}, true, false) "
        "ON CONFLICT (ticket_id) WHERE is_final DO NOTHING RETURNING id)"
    )
    ctes = [insert, _SPANS, _SETTLE] + ([_EMBEDDING] if with_embedding else [])
    return "WITH " + ",\n".join(ctes) + "\nSELECT id FROM d"


RECORD = {True: _record_sql(True), False: _record_sql(False)}

# A shadow run: never final, at most one per (ticket, version), the ticket's embedding left as
# production wrote it, no tenant budget hold to settle (the shadow has its own budget).
RECORD_SHADOW = (
    f"WITH d AS (INSERT INTO decisions ({', '.join(_WRITTEN)}, is_final, is_shadow) VALUES "
    f"({', '.join(f'%({c})s' for c in _WRITTEN)}, false, true) "
    "ON CONFLICT (ticket_id, agent_version_id) WHERE is_shadow DO NOTHING RETURNING id),\n"
    + _SPANS.strip()
    + "\nSELECT id FROM d"
)

# The tenant's spend this calendar month (UTC): one row of the ledger that a trigger on
# decisions keeps (migration c3d7b0d9e012), equal to the sum of the month's decisions' cost.
MONTH_SPEND = """
SELECT coalesce(sum(spent_usd), 0) AS usd FROM tenant_spend
WHERE tenant_id = %(tenant_id)s
  AND month = (date_trunc('month', now() AT TIME ZONE 'UTC'))::date"""


async def final_row(
    conn: psycopg.AsyncConnection[Any], ticket_id: uuid.UUID
) -> dict[str, Any] | None:
    """The ticket's final decision as ``DECISION_COLUMNS`` keyed by name, or ``None``."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(FINAL_ROW, (ticket_id,))
    return await cur.fetchone()


async def record(
    conn: psycopg.AsyncConnection[Any],
    *,
    decision: dict[str, Any],
    spans: list[dict[str, Any]],
    trace_id: str,
    embedding: Any | None,
    embedding_model: str,
    reservation_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Decision, spans and the ticket's embedding in one atomic statement, which also ends the
    run's budget hold. ``None`` when the ticket already had a final decision (then nothing of
    this run is written but the embedding, and the hold still ends)."""
    params = {
        "reservation_id": reservation_id,
        **decision,
        "queue_probs": Jsonb(decision["queue_probs"]),
        "priority_probs": Jsonb(decision["priority_probs"]),
        "spans": Jsonb(spans),
        "trace_id": trace_id,
        "embedding": embedding,
        "embedding_model": embedding_model,
    }
    cur = await conn.execute(RECORD[embedding is not None], params)
    row = await cur.fetchone()
    return row[0] if row else None


async def record_shadow(
    conn: psycopg.AsyncConnection[Any],
    *,
    decision: dict[str, Any],
    spans: list[dict[str, Any]],
    trace_id: str,
) -> uuid.UUID | None:
    """A shadow decision and its spans in one statement; ``None`` when the ticket already has
    this version's shadow decision (a task delivered twice)."""
    params = {
        **decision,
        "queue_probs": Jsonb(decision["queue_probs"]),
        "priority_probs": Jsonb(decision["priority_probs"]),
        "spans": Jsonb(spans),
        "trace_id": trace_id,
    }
    row = await (await conn.execute(RECORD_SHADOW, params)).fetchone()
    return row[0] if row else None


async def stored_embedding(
    conn: psycopg.AsyncConnection[Any], ticket_id: uuid.UUID
) -> tuple[np.ndarray, str] | None:
    """The ticket's embedding as production stored it, and its model (``None``: none yet)."""
    cur = await conn.execute(
        "SELECT embedding, embedding_model FROM tickets WHERE id = %s AND embedding IS NOT NULL",
        (ticket_id,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    vector = row[0].to_numpy() if hasattr(row[0], "to_numpy") else row[0]
    return np.asarray(vector, dtype=np.float32), row[1]


async def month_spend_usd(conn: psycopg.AsyncConnection[Any], tenant_id: uuid.UUID) -> float:
    """The model cost of the tenant's decisions this calendar month (UTC)."""
    row = await (await conn.execute(MONTH_SPEND, {"tenant_id": tenant_id})).fetchone()
    return float(row[0]) if row else 0.0


async def final_for(session: AsyncSession, ticket_id: uuid.UUID) -> Decision | None:
    stmt = select(Decision).where(Decision.ticket_id == ticket_id, Decision.is_final)
    return (await session.execute(stmt)).scalar_one_or_none()


async def spans_for(session: AsyncSession, ticket_id: uuid.UUID) -> list[TraceSpan]:
    """The ticket's trace: the spans of its served run, not those of shadow runs."""
    shadow = select(Decision.id).where(Decision.ticket_id == ticket_id, Decision.is_shadow)
    stmt = (
        select(TraceSpan)
        .where(
            TraceSpan.ticket_id == ticket_id,
            or_(TraceSpan.decision_id.is_(None), TraceSpan.decision_id.not_in(shadow)),
        )
        .order_by(TraceSpan.started_at, TraceSpan.id)
    )
    return list((await session.execute(stmt)).scalars())


async def has_shadow(
    conn: psycopg.AsyncConnection[Any], ticket_id: uuid.UUID, version_id: uuid.UUID
) -> bool:
    cur = await conn.execute(
        "SELECT 1 FROM decisions WHERE ticket_id = %s AND agent_version_id = %s AND is_shadow",
        (ticket_id, version_id),
    )
    return await cur.fetchone() is not None


async def add_shadow_spend(
    conn: psycopg.AsyncConnection[Any], version_id: uuid.UUID, cost_usd: Decimal
) -> None:
    """Count a model cost of the version that no decision row carries (an attribution replay,
    kept in memory) in this month's ``shadow_spend``, as the trigger counts a shadow decision."""
    await conn.execute(
        "INSERT INTO shadow_spend AS s (agent_version_id, month, spent_usd) "
        "VALUES (%s, (date_trunc('month', now() AT TIME ZONE 'UTC'))::date, %s) "
        "ON CONFLICT (agent_version_id, month) "
        "DO UPDATE SET spent_usd = s.spent_usd + excluded.spent_usd",
        (version_id, cost_usd),
    )


async def shadow_month_spend_usd(
    conn: psycopg.AsyncConnection[Any], version_id: uuid.UUID
) -> float:
    """The model cost of the version's shadow runs this calendar month (UTC)."""
    cur = await conn.execute(
        "SELECT coalesce(sum(spent_usd), 0) FROM shadow_spend WHERE agent_version_id = %s "
        "AND month = (date_trunc('month', now() AT TIME ZONE 'UTC'))::date",
        (version_id,),
    )
    row = await cur.fetchone()
    return float(row[0]) if row else 0.0
