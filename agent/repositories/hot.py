"""The per-ticket statements, on psycopg's async pool directly.

Everything a ticket's route touches runs here as single autocommitted statements (atomic on
their own): storing the ticket, retrieving its neighbours, and writing decision, embedding and
spans in one statement. Going through SQLAlchemy's async ORM cost more CPU than the rest of the
request together (measured by ``ticketwatch bench routing``); the other repositories keep it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import orjson
import psycopg
from pgvector.psycopg import register_vector_async
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from agent.repositories.history import EF_SEARCH


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, default=str).decode()
    except orjson.JSONEncodeError:
        # orjson refuses integers beyond 64 bits; JSON (and jsonb) has no such limit, and a
        # ticket's metadata may carry them. The standard library writes them exactly.
        return json.dumps(value, default=str, ensure_ascii=False)


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    await register_vector_async(conn)
    # Session settings once per connection instead of SET LOCAL per query.
    await conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
    await conn.execute("SET hnsw.iterative_scan = relaxed_order")


def make_pool(
    url: str, *, size: int, statement_timeout_ms: int, wait_timeout_s: float
) -> AsyncConnectionPool:
    """A pool of autocommit connections with pgvector registered (open it before use).
    Waiting longer than ``wait_timeout_s`` for a connection raises ``PoolTimeout`` (a 503)."""
    psycopg.types.json.set_json_dumps(_dumps)
    return AsyncConnectionPool(
        url,
        min_size=min(4, size),
        max_size=size,
        open=False,
        configure=_configure,
        timeout=wait_timeout_s,
        kwargs={
            "autocommit": True,
            "application_name": "ticketwatch-api",
            "options": f"-c statement_timeout={statement_timeout_ms}",
            "prepare_threshold": 2,
        },
    )


INSERT_TICKET = """
INSERT INTO tickets (id, tenant_id, source, external_id, subject, body, customer_id, channel,
                     metadata, received_at)
VALUES (%(id)s, %(tenant_id)s, %(source)s, %(external_id)s, %(subject)s, %(body)s,
        %(customer_id)s, %(channel)s, %(metadata)s, %(received_at)s)
ON CONFLICT (tenant_id, source, external_id) DO NOTHING
RETURNING id"""


async def insert_ticket(conn: psycopg.AsyncConnection[Any], values: dict[str, Any]) -> bool:
    """Store a ticket unless the tenant's ``(source, external_id)`` is known; True when new."""
    cur = await conn.execute(INSERT_TICKET, {**values, "metadata": Jsonb(values["metadata"])})
    return await cur.fetchone() is not None


async def ticket_by_external_id(
    conn: psycopg.AsyncConnection[Any],
    tenant_id: uuid.UUID | None,
    source: str,
    external_id: str,
) -> dict[str, Any] | None:
    """The tenant's ticket with this pair (a NULL tenant's when ``tenant_id`` is None)."""
    # "tenant_id = NULL" matches nothing, and IS NOT DISTINCT FROM cannot use the unique index.
    tenant = "tenant_id IS NULL" if tenant_id is None else "tenant_id = %(tenant_id)s"
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, tenant_id, source, external_id, subject, body, customer_id, channel, "
        f"metadata, received_at, created_at FROM tickets WHERE {tenant} "
        "AND source = %(source)s AND external_id = %(external_id)s",
        {"tenant_id": tenant_id, "source": source, "external_id": external_id},
    )
    return await cur.fetchone()


DECISION_COLUMNS = (
    "id",
    "ticket_id",
    "agent_version_id",
    "is_final",
    "is_shadow",
    "queue",
    "priority",
    "routed_to",
    "mode",
    "needs_review",
    "confidence",
    "queue_probs",
    "priority_probs",
    "entropy",
    "margin",
    "knn_agreement",
    "knn_consensus",
    "classifier",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "latency_ms",
    "reason",
    "error",
    "sampled_for_review",
    "inclusion_prob",
    "created_at",
)


async def final_decision(
    conn: psycopg.AsyncConnection[Any], ticket_id: uuid.UUID
) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {', '.join(DECISION_COLUMNS)} FROM decisions WHERE ticket_id = %s AND is_final",
        (ticket_id,),
    )
    return await cur.fetchone()


NEAREST = """
SELECT o.ticket_id, o.queue, o.priority, t.subject, t.body, o.embedding <=> %(q)s AS distance
FROM outcomes o JOIN tickets t ON t.id = o.ticket_id
WHERE o.embedding IS NOT NULL AND o.ticket_id <> %(exclude)s
ORDER BY o.embedding <=> %(q)s
LIMIT %(k)s"""


async def nearest_outcomes(
    conn: psycopg.AsyncConnection[Any], *, embedding: Any, k: int, exclude: uuid.UUID
) -> list[tuple[Any, ...]]:
    """The k outcomes nearest by cosine distance (HNSW scan; see ``history.nearest``)."""
    cur = await conn.execute(NEAREST, {"q": embedding, "k": k, "exclude": exclude})
    return await cur.fetchall()


_SPANS = """
s AS (
  INSERT INTO trace_spans (ticket_id, decision_id, trace_id, span_id, name, started_at,
                           duration_ms, input, output, error, attributes)
  SELECT %(ticket_id)s, d.id, %(trace_id)s, x.span_id, x.name, x.started_at, x.duration_ms,
         x.input, x.output, x.error, x.attributes
  FROM d, jsonb_to_recordset(%(spans)s) AS x(span_id text, name text, started_at timestamptz,
       duration_ms float8, input jsonb, output jsonb, error text, attributes jsonb)
)"""
_EMBEDDING = """
e AS (
  UPDATE tickets SET embedding = %(embedding)s, embedding_model = %(embedding_model)s
  WHERE id = %(ticket_id)s
)"""


def _record_sql(with_embedding: bool) -> str:
    cols = [c for c in DECISION_COLUMNS if c not in ("is_final", "is_shadow", "created_at")]
    insert = (
        f"d AS (INSERT INTO decisions ({', '.join(cols)}, is_final, is_shadow) VALUES "
        f"({', '.join(f'%({c})s' for c in cols)}, true, false) "
        "ON CONFLICT (ticket_id) WHERE is_final DO NOTHING RETURNING id)"
    )
    ctes = [insert, _SPANS] + ([_EMBEDDING] if with_embedding else [])
    return "WITH " + ",\n".join(ctes) + "\nSELECT id FROM d"


RECORD = {True: _record_sql(True), False: _record_sql(False)}


async def record_decision(
    conn: psycopg.AsyncConnection[Any],
    *,
    decision: dict[str, Any],
    spans: list[dict[str, Any]],
    trace_id: str,
    embedding: Any | None,
    embedding_model: str,
) -> uuid.UUID | None:
    """Decision, spans and the ticket's embedding in one atomic statement. ``None`` when the
    ticket already had a final decision (then nothing of this run is written but the
    embedding)."""
    params = {
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
