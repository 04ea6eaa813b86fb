"""Outcomes: the history of final routes that the agent retrieves and the monitor compares.

Three access paths: ORM sessions (the API, the UI, the monitor); the per-ticket retrieval on
psycopg's autocommit pool (:func:`nearest_rows`); and sync psycopg connections for the bulk
work of ``history load`` and of fitting a version (:func:`connect`). None of them commits: the
bulk loader commits each chunk itself (``agent/services/history_loader.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from sqlalchemy import Row, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Outcome, Ticket


@dataclass(frozen=True, slots=True)
class TenantScope:
    """Retrieve one tenant's outcomes only (None: those loaded without a tenant)."""

    tenant_id: uuid.UUID | None


# Search breadth of the HNSW index scan (recall vs latency); iterative scans keep filtered
# queries (the ticket itself excluded) from returning fewer than k rows.
EF_SEARCH = 64


# The nearest outcomes of one label set: the recorded ``outcomes`` or, under a later taxonomy,
# the relabelled rows of one label set (``taxonomy migrate``); with ``tenant_scoped``, only
# those of the ticket's own tenant (tickets without one: the history loaded without one); with
# ``before``, only outcomes recorded before a time (a replay sees the history of its day).
def _nearest_sql(*, relabelled: bool, tenant_scoped: bool, before: bool = False) -> str:
    table, labels = (
        ("relabelled_outcomes", "o.taxonomy_id = %(labels)s AND ")
        if relabelled
        else ("outcomes", "")
    )
    tenant = " AND t.tenant_id IS NOT DISTINCT FROM %(tenant)s" if tenant_scoped else ""
    if before:
        tenant += " AND o.recorded_at < %(before)s"
    return (
        "SELECT o.ticket_id, o.queue, o.priority, t.subject, t.body, o.embedding <=> %(q)s "
        f"AS distance FROM {table} o JOIN tickets t ON t.id = o.ticket_id WHERE {labels}"
        f"o.embedding IS NOT NULL AND o.ticket_id <> %(exclude)s{tenant} "
        "ORDER BY o.embedding <=> %(q)s LIMIT %(k)s"
    )


NEAREST = {
    (relabelled, scoped, before): _nearest_sql(
        relabelled=relabelled, tenant_scoped=scoped, before=before
    )
    for relabelled in (False, True)
    for scoped in (False, True)
    for before in (False, True)
}
# The label set a taxonomy reads: its own relabelled rows once history was migrated into it.
LABEL_SET = (
    "SELECT x.id FROM taxonomies x WHERE x.content_hash = %s AND EXISTS "
    "(SELECT 1 FROM taxonomy_migrations m WHERE m.to_taxonomy_id = x.id)"
)


async def configure_search(conn: psycopg.AsyncConnection[Any]) -> None:
    """Session settings for the pool's connections (once per connection instead of SET LOCAL
    per query): the HNSW scan breadth and iterative scans."""
    await conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
    await conn.execute("SET hnsw.iterative_scan = relaxed_order")


async def nearest_rows(
    conn: psycopg.AsyncConnection[Any],
    *,
    embedding: Any,
    k: int,
    exclude: uuid.UUID,
    labels: uuid.UUID | None = None,
    tenant: TenantScope | None = None,
    recorded_before: datetime | None = None,
) -> list[tuple[Any, ...]]:
    """The per-ticket path's :func:`nearest`, on a pool connection set up by
    :func:`configure_search`: ``(ticket_id, queue, priority, subject, body, distance)``.
    ``labels``: a migrated taxonomy's id (:func:`label_set`), None for the recorded outcomes;
    ``tenant``: one tenant's outcomes only, None for the whole pool; ``recorded_before``: only
    outcomes recorded before then (a replay), None for all."""
    params = {"q": embedding, "k": k, "exclude": exclude, "labels": labels}
    params.update(tenant=tenant.tenant_id if tenant else None, before=recorded_before)
    key = (labels is not None, tenant is not None, recorded_before is not None)
    cur = await conn.execute(NEAREST[key], params)
    return await cur.fetchall()


async def label_set(conn: psycopg.AsyncConnection[Any], content_hash: str) -> uuid.UUID | None:
    """The taxonomy's id when history was migrated into it (its versions read the relabelled
    rows), else None (they read ``outcomes`` as recorded)."""
    cur = await conn.execute(LABEL_SET, (content_hash,))
    row = await cur.fetchone()
    return row[0] if row else None


async def nearest(
    session: AsyncSession, *, embedding: np.ndarray, k: int, exclude_ticket_id: uuid.UUID | None
) -> list[Row[Any]]:
    """The k outcomes nearest to ``embedding`` by cosine distance, with their tickets' text."""
    await session.execute(text(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, k)}"))
    await session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    distance = Outcome.embedding.cosine_distance(embedding).label("distance")
    stmt = (
        select(
            Outcome.ticket_id,
            Outcome.queue,
            Outcome.priority,
            Ticket.subject,
            Ticket.body,
            distance,
        )
        .join(Ticket, Ticket.id == Outcome.ticket_id)
        .where(Outcome.embedding.is_not(None))
        .order_by(distance)
        .limit(k)
    )
    if exclude_ticket_id is not None:
        stmt = stmt.where(Outcome.ticket_id != exclude_ticket_id)
    return list((await session.execute(stmt)).all())


async def upsert(
    session: AsyncSession,
    *,
    ticket_id: uuid.UUID,
    queue: str,
    priority: str,
    source: str,
    recorded_by: str | None,
    recorded_at: datetime | None = None,
    unless_source: str | None = None,
) -> None:
    """Record (or replace) a ticket's final route, copying the ticket's embedding; an outcome
    recorded by ``unless_source`` is kept instead of replaced."""
    embedding = select(Ticket.embedding).where(Ticket.id == ticket_id).scalar_subquery()
    values = {
        "ticket_id": ticket_id,
        "queue": queue,
        "priority": priority,
        "source": source,
        "recorded_by": recorded_by,
        "embedding": embedding,
        "recorded_at": recorded_at or func.now(),
    }
    stmt = insert(Outcome).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["ticket_id"],
        set_={k: stmt.excluded[k] for k in values if k != "ticket_id"},
        where=Outcome.source != unless_source if unless_source else None,
    )
    await session.execute(stmt)


async def for_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> Outcome | None:
    return await session.get(Outcome, ticket_id)


# --- bulk work on a sync connection: fitting a version, loading history ---------------------

HNSW_INDEXES = {
    "ix_tickets_embedding_hnsw": "tickets",
    "ix_outcomes_embedding_hnsw": "outcomes",
}
# The held-out sample's order: keyed on the ticket's identity, not its random id, so the same
# history loaded again gives the same sample, so the same fit.
_SAMPLE_ORDER = "ORDER BY md5(t.source || ':' || t.external_id || %s), o.ticket_id"


@contextmanager
def connect(
    database_url: str, *, ef_search: int | None = None, iterative: bool = False
) -> Iterator[psycopg.Connection]:
    """A sync connection with pgvector registered (and a wider HNSW scan when asked; iterative
    scans for filtered queries, as the per-ticket path has them)."""
    with psycopg.connect(database_url) as conn:
        register_vector(conn)
        if ef_search is not None:
            conn.execute(f"SET hnsw.ef_search = {int(ef_search)}")
        if iterative:
            conn.execute("SET hnsw.iterative_scan = relaxed_order")
        yield conn


def _labelled(labels: uuid.UUID | None, *, tickets: bool = True) -> tuple[str, tuple[Any, ...]]:
    """``FROM ... WHERE ...`` text: the label set's outcomes with embeddings as ``o`` (recorded
    ones for None, else those relabelled under that taxonomy), joined to ``tickets`` as ``t``."""
    table, where, params = (
        ("outcomes", "", ())
        if labels is None
        else ("relabelled_outcomes", "o.taxonomy_id = %s AND ", (labels,))
    )
    join = " JOIN tickets t ON t.id = o.ticket_id" if tickets else ""
    return f"{table} o{join} WHERE {where}o.embedding IS NOT NULL", params


def label_set_sync(conn: psycopg.Connection, content_hash: str) -> uuid.UUID | None:
    """:func:`label_set` on a sync connection."""
    row = conn.execute(LABEL_SET, (content_hash,)).fetchone()
    return row[0] if row else None


def held_out_sample(
    conn: psycopg.Connection, *, n: int, seed: int, labels: uuid.UUID | None = None
) -> list[tuple[Any, ...]]:
    """``n`` outcomes with embeddings in the seeded sample order:
    ``(ticket_id, queue, priority, embedding, body)``."""
    source, params = _labelled(labels)
    return conn.execute(
        "SELECT o.ticket_id, o.queue, o.priority, o.embedding, t.body FROM "
        + source
        + " "
        + _SAMPLE_ORDER
        + " LIMIT %s",
        (*params, str(seed), n),
    ).fetchall()


def nearest_others(
    conn: psycopg.Connection,
    *,
    embedding: Any,
    exclude: Any,
    limit: int,
    labels: uuid.UUID | None = None,
    same_tenant: bool = False,
) -> list[tuple[Any, ...]]:
    """The ``limit`` outcomes nearest to ``embedding`` other than ticket ``exclude``:
    ``(ticket_id, queue, priority, distance)``; with ``same_tenant``, only those of
    ``exclude``'s tenant (as a ``tenant`` history scope retrieves at serving)."""
    source, params = _labelled(labels, tickets=same_tenant)
    tenant = (
        " AND t.tenant_id IS NOT DISTINCT FROM (SELECT x.tenant_id FROM tickets x WHERE x.id = %s)"
        if same_tenant
        else ""
    )
    return conn.execute(
        "SELECT o.ticket_id, o.queue, o.priority, o.embedding <=> %s AS d FROM "
        + source
        + " AND o.ticket_id <> %s"
        + tenant
        + " ORDER BY o.embedding <=> %s LIMIT %s",
        (embedding, *params, exclude, *((exclude,) if same_tenant else ()), embedding, limit),
    ).fetchall()


def labelled_embeddings(
    conn: psycopg.Connection, *, seed: int, labels: uuid.UUID | None = None
) -> list[tuple[Any, ...]]:
    """Every outcome with an embedding in the held-out sample's seeded order:
    ``(queue, priority, embedding)``."""
    source, params = _labelled(labels)
    return conn.execute(
        "SELECT o.queue, o.priority, o.embedding FROM " + source + " " + _SAMPLE_ORDER,
        (*params, str(seed)),
    ).fetchall()


def external_ids_of(conn: psycopg.Connection, source: str) -> set[str]:
    """The source's ids already loaded as history. History has no tenant: a tenant's own ticket
    with the same pair is another ticket and does not count."""
    rows = conn.execute(
        "SELECT external_id FROM tickets WHERE tenant_id IS NULL AND source = %s", (source,)
    )
    return {r[0] for r in rows}


def size(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM outcomes").fetchone()[0])  # type: ignore[index]


def drop_hnsw_indexes(conn: psycopg.Connection) -> None:
    for name in HNSW_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")


def ensure_hnsw_indexes(conn: psycopg.Connection) -> None:
    """(Re)build the HNSW indexes if missing (after a bulk load, or one that was interrupted)."""
    conn.execute("SET maintenance_work_mem = '512MB'")
    for name, table in HNSW_INDEXES.items():
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING hnsw "
            "(embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )


def analyze(conn: psycopg.Connection) -> None:
    conn.execute("ANALYZE tickets")
    conn.execute("ANALYZE outcomes")


# A staged row's columns and types: declared once, for the staging table and the binary COPY.
STAGE = (
    ("id", "uuid"),
    ("source", "text"),
    ("external_id", "text"),
    ("body", "text"),
    ("channel", "text"),
    ("customer_id", "text"),
    ("received_at", "timestamptz"),
    ("embedding", "vector"),
    ("model", "text"),
    ("queue", "text"),
    ("priority", "text"),
)
CREATE_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS history_stage "
    f"({', '.join(f'{name} {kind}' for name, kind in STAGE)}) ON COMMIT DELETE ROWS"
)


def insert_chunk(conn: psycopg.Connection, rows: Sequence[tuple[object, ...]]) -> None:
    """Copy ``rows`` (see ``STAGE``) into a staging table and insert the tickets and
    outcomes that are not there yet, in one transaction block (the caller commits)."""
    with conn.transaction():
        conn.execute(CREATE_STAGE)
        with conn.cursor().copy("COPY history_stage FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([kind for _, kind in STAGE])
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
