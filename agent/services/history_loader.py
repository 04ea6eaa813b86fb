"""Bulk loading of labelled history: tickets with embeddings and their outcomes.

The bulk path copies rows into staging tables and inserts them in chunks, each chunk committed
(so an interrupted load resumes where it stopped: rows already present are skipped and not
embedded again). On a first load into an empty history the HNSW indexes are dropped first and
built once at the end, which is several times faster than maintaining them row by row.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from agent.datasets.records import LabelledTicket
from agent.embed import Embedder

log = logging.getLogger(__name__)

HNSW_INDEXES = {
    "ix_tickets_embedding_hnsw": "tickets",
    "ix_outcomes_embedding_hnsw": "outcomes",
}
BULK_THRESHOLD = 2_000  # rows: below this, keep the indexes and insert through them


@dataclass(frozen=True)
class LoadReport:
    total: int
    skipped: int
    inserted: int
    seconds: float
    indexes_rebuilt: bool


def external_ids(records: Sequence[LabelledTicket], source: str) -> list[str]:
    """Each record's id: its own, or its position in the file (stable across resumptions)."""
    return [r.external_id or f"{source}:{i}" for i, r in enumerate(records)]


def _existing(conn: psycopg.Connection, source: str) -> set[str]:
    """The source's ids already loaded. History has no tenant: a tenant's own ticket with the
    same pair is another ticket and does not count."""
    rows = conn.execute(
        "SELECT external_id FROM tickets WHERE tenant_id IS NULL AND source = %s", (source,)
    )
    return {r[0] for r in rows}


def _history_size(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM outcomes").fetchone()[0])  # type: ignore[index]


def _drop_indexes(conn: psycopg.Connection) -> None:
    for name in HNSW_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    conn.commit()


def ensure_indexes(conn: psycopg.Connection) -> None:
    """(Re)build the HNSW indexes if missing (after a bulk load, or one that was interrupted)."""
    conn.execute("SET maintenance_work_mem = '512MB'")
    for name, table in HNSW_INDEXES.items():
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING hnsw "
            "(embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )
    conn.commit()


def _insert_chunk(conn: psycopg.Connection, rows: Sequence[tuple[object, ...]]) -> None:
    with conn.transaction():
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS history_stage (id uuid, source text, "
            "external_id text, body text, channel text, customer_id text, "
            "received_at timestamptz, embedding vector, model text, queue text, "
            "priority text) ON COMMIT DELETE ROWS"
        )
        with conn.cursor().copy("COPY history_stage FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(
                [
                    "uuid",
                    "text",
                    "text",
                    "text",
                    "text",
                    "text",
                    "timestamptz",
                    "vector",
                    "text",
                    "text",
                    "text",
                ]
            )
            for row in rows:
                copy.write_row(row)
        conn.execute(
            "INSERT INTO tickets (id, source, external_id, subject, body, channel, customer_id, "
            "metadata, received_at, embedding, embedding_model) "
            "SELECT id, source, external_id, '', body, channel, customer_id, '{}', received_at, "
            "embedding, model FROM history_stage "
            "ON CONFLICT (tenant_id, source, external_id) DO NOTHING"
        )
        conn.execute(
            "INSERT INTO outcomes (ticket_id, queue, priority, source, recorded_at, recorded_by, "
            "embedding) SELECT s.id, s.queue, s.priority, 'history', s.received_at, "
            "'load-history', s.embedding FROM history_stage s JOIN tickets t ON t.id = s.id "
            "ON CONFLICT (ticket_id) DO NOTHING"
        )


def load_history(
    database_url: str,
    records: Sequence[LabelledTicket],
    *,
    source: str,
    embedder: Embedder,
    chunk: int = 512,
    progress: Callable[[int], None] | None = None,
) -> LoadReport:
    """Load labelled tickets as history. Idempotent and resumable; reports what it did."""
    t0 = time.perf_counter()
    ids = external_ids(records, source)
    now = datetime.now(UTC)
    with psycopg.connect(database_url) as conn:
        register_vector(conn)
        existing = _existing(conn, source)
        todo = [i for i, eid in enumerate(ids) if eid not in existing]
        if progress:
            progress(len(records) - len(todo))
        bulk = len(todo) >= BULK_THRESHOLD and _history_size(conn) < len(todo)
        if bulk:
            log.info("bulk load of %d rows: building the HNSW indexes once at the end", len(todo))
            _drop_indexes(conn)
        try:
            for start in range(0, len(todo), chunk):
                part = [records[i] for i in todo[start : start + chunk]]
                vectors = embedder.embed([r.text for r in part])
                rows = [
                    (
                        uuid.uuid4(),
                        source,
                        ids[i],
                        r.text,
                        r.channel or "web",
                        r.customer_id,
                        r.timestamp or now,
                        np.asarray(v, dtype=np.float32),
                        embedder.model_name,
                        r.queue,
                        r.priority,
                    )
                    for i, r, v in zip(todo[start : start + chunk], part, vectors, strict=True)
                ]
                _insert_chunk(conn, rows)
                conn.commit()  # each chunk is durable: an interrupted load resumes after it
                if progress:
                    progress(len(part))
        finally:
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                conn.rollback()  # a chunk that failed left its transaction aborted
            ensure_indexes(conn)  # also mends an earlier bulk load that was interrupted
            conn.execute("ANALYZE tickets")
            conn.execute("ANALYZE outcomes")
            conn.commit()
    return LoadReport(
        total=len(records),
        skipped=len(records) - len(todo),
        inserted=len(todo),
        seconds=time.perf_counter() - t0,
        indexes_rebuilt=bulk,
    )
