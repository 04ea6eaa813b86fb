"""Bulk loading of labelled history: tickets with embeddings and their outcomes.

The bulk path copies rows into staging tables and inserts them in chunks, each chunk committed
(so an interrupted load resumes where it stopped: rows already present are skipped and not
embedded again). On a first load into an empty history the HNSW indexes are dropped first and
built once at the end, which is several times faster than maintaining them row by row.
Embedding, most of a load's time, runs on worker threads (``workers``, one per core from the
CLI) that embed the next chunks while this thread writes the current one.

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
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import psycopg

from agent.datasets.records import LabelledTicket
from agent.embed import Embedder, embed_chunks
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
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    actor: tuple[str, str] = ("system", "system"),
) -> LoadReport:
    """Load labelled tickets as history. Idempotent and resumable; reports what it did, and
    audits it (``history.load``, by ``actor``: name and role) once it is done.

    ``workers`` chunks are embedded at once (:func:`agent.embed.embed_chunks`) while the
    chunk before them is written; chunks are still written and committed in file order.
    """
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
        parts = [todo[start : start + chunk] for start in range(0, len(todo), chunk)]
        texts = ([records[i].text for i in part] for part in parts)
        try:
            with closing(embed_chunks(embedder, texts, workers=workers)) as embedded:
                for part, vectors in zip(parts, embedded, strict=True):
                    rows = _rows(records, ids, part, vectors, embedder.model_name, now, source)
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


def _rows(
    records: Sequence[LabelledTicket],
    ids: Sequence[str],
    part: Sequence[int],
    vectors: np.ndarray,
    model: str,
    now: datetime,
    source: str,
) -> list[tuple[object, ...]]:
    """A chunk's staged rows (``history.STAGE``'s columns)."""
    return [
        (
            uuid.uuid4(),
            source,
            ids[i],
            records[i].text,
            records[i].channel or "web",
            records[i].customer_id,
            records[i].timestamp or now,
            np.asarray(v, dtype=np.float32),
            model,
            records[i].queue,
            records[i].priority,
        )
        for i, v in zip(part, vectors, strict=True)
    ]
