"""Bulk loading of labelled history: tickets with embeddings and their outcomes.

The bulk path copies rows into staging tables and inserts them in chunks, each chunk committed
(so an interrupted load resumes where it stopped: rows already present are skipped and not
embedded again). On a first load into an empty history the HNSW indexes are dropped first and
built once at the end, which is several times faster than maintaining them row by row.

The SQL is the history repository's (:mod:`agent.repositories.history`). This is the one service
that commits (its allowed exception to "services never commit", enforced by
``tests/test_layers.py``): a load of a hundred thousand tickets is not one unit of work, so it
commits each chunk, the index drop before it and the index build and ``ANALYZE`` after it.
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

from agent.datasets.records import LabelledTicket
from agent.embed import Embedder
from agent.repositories import history, operations

log = logging.getLogger(__name__)

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


def load_history(
    database_url: str,
    records: Sequence[LabelledTicket],
    *,
    source: str,
    embedder: Embedder,
    chunk: int = 512,
    progress: Callable[[int], None] | None = None,
    actor: tuple[str, str] = ("system", "system"),
) -> LoadReport:
    """Load labelled tickets as history. Idempotent and resumable; reports what it did, and
    audits it (``history.load``, by ``actor``: name and role) once it is done."""
    t0 = time.perf_counter()
    ids = external_ids(records, source)
    now = datetime.now(UTC)
    with history.connect(database_url) as conn:
        existing = history.external_ids_of(conn, source)
        todo = [i for i, eid in enumerate(ids) if eid not in existing]
        if progress:
            progress(len(records) - len(todo))
        bulk = len(todo) >= BULK_THRESHOLD and history.size(conn) < len(todo)
        if bulk:
            log.info("bulk load of %d rows: building the HNSW indexes once at the end", len(todo))
            history.drop_hnsw_indexes(conn)
            conn.commit()
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
                history.insert_chunk(conn, rows)
                conn.commit()  # each chunk is durable: an interrupted load resumes after it
                if progress:
                    progress(len(part))
        finally:
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                conn.rollback()  # a chunk that failed left its transaction aborted
            history.ensure_hnsw_indexes(conn)  # also mends an interrupted earlier bulk load
            conn.commit()
            history.analyze(conn)
            conn.commit()
        report = LoadReport(
            total=len(records),
            skipped=len(records) - len(todo),
            inserted=len(todo),
            seconds=time.perf_counter() - t0,
            indexes_rebuilt=bulk,
        )
        operations.insert_audit_row(
            conn,
            actor=actor[0],
            actor_role=actor[1],
            action="history.load",
            target=source,
            details={
                "total": report.total,
                "inserted": report.inserted,
                "skipped": report.skipped,
                "indexes_rebuilt": bulk,
                "embedding_model": embedder.model_name,
            },
        )
        conn.commit()
    return report
