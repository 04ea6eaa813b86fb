"""Taxonomy migrations and the outcomes they relabelled (``relabelled_outcomes``).

A taxonomy that history was migrated into reads its own relabelled rows; any other reads
``outcomes`` as recorded (:func:`agent.repositories.history.label_set`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from agent.models import Outcome, RelabelledOutcome, TaxonomyMigration, Ticket


@dataclass(frozen=True)
class SourceRow:
    """An outcome to relabel: its route, where it came from, and its ticket's text."""

    ticket_id: uuid.UUID
    queue: str
    priority: str
    source: str
    recorded_at: datetime
    text: str


async def is_migrated_into(session: AsyncSession, taxonomy_id: uuid.UUID) -> bool:
    stmt = select(exists().where(TaxonomyMigration.to_taxonomy_id == taxonomy_id))
    return bool((await session.execute(stmt)).scalar())


async def migrations_into(session: AsyncSession, taxonomy_id: uuid.UUID) -> list[TaxonomyMigration]:
    """The migrations into a taxonomy, oldest first."""
    stmt = (
        select(TaxonomyMigration)
        .where(TaxonomyMigration.to_taxonomy_id == taxonomy_id)
        .order_by(TaxonomyMigration.created_at, TaxonomyMigration.id)
    )
    return list((await session.execute(stmt)).scalars())


async def migration(
    session: AsyncSession, *, from_id: uuid.UUID, to_id: uuid.UUID, mapping_hash: str
) -> TaxonomyMigration | None:
    stmt = select(TaxonomyMigration).where(
        TaxonomyMigration.from_taxonomy_id == from_id,
        TaxonomyMigration.to_taxonomy_id == to_id,
        TaxonomyMigration.mapping_hash == mapping_hash,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def add_migration(session: AsyncSession, **values: Any) -> TaxonomyMigration:
    row = TaxonomyMigration(**values)
    session.add(row)
    await session.flush()
    return row


async def pending(
    session: AsyncSession, *, labels: uuid.UUID | None, into: uuid.UUID
) -> list[SourceRow]:
    """The outcomes of a label set (recorded ones for None, else those relabelled under that
    taxonomy) whose tickets have no row under ``into`` yet, in a stable order."""
    table: Any = Outcome if labels is None else aliased(RelabelledOutcome)
    mine = aliased(RelabelledOutcome)
    done = select(mine.ticket_id).where(mine.taxonomy_id == into, mine.ticket_id == table.ticket_id)
    stmt = (
        select(
            table.ticket_id,
            table.queue,
            table.priority,
            table.source,
            table.recorded_at,
            Ticket.subject,
            Ticket.body,
        )
        .join(Ticket, Ticket.id == table.ticket_id)
        .where(~exists(done))
        .order_by(table.ticket_id)
    )
    if labels is not None:
        stmt = stmt.where(table.taxonomy_id == labels)
    rows = (await session.execute(stmt)).all()
    return [
        SourceRow(r[0], r[1], r[2], r[3], r[4], f"{r[5].strip()}\n{r[6].strip()}".strip())
        for r in rows
    ]


# One statement per batch: the routes travel as arrays, the embedding is copied from the ticket.
INSERT_RELABELLED = """
INSERT INTO relabelled_outcomes (taxonomy_id, ticket_id, migration_id, queue, priority,
    from_queue, from_priority, rule, source, recorded_at, embedding)
SELECT :taxonomy_id, r.ticket_id, :migration_id, r.queue, r.priority, r.from_queue,
    r.from_priority, r.rule, r.source, r.recorded_at, t.embedding
FROM unnest(CAST(:ticket_ids AS uuid[]), CAST(:queues AS text[]), CAST(:priorities AS text[]),
    CAST(:from_queues AS text[]), CAST(:from_priorities AS text[]), CAST(:rules AS text[]),
    CAST(:sources AS text[]), CAST(:recorded_ats AS timestamptz[]))
    AS r(ticket_id, queue, priority, from_queue, from_priority, rule, source, recorded_at)
JOIN tickets t ON t.id = r.ticket_id
ON CONFLICT (taxonomy_id, ticket_id) DO NOTHING"""


@dataclass(frozen=True)
class NewRow:
    source: SourceRow
    queue: str
    priority: str
    rule: str


async def insert_relabelled(
    session: AsyncSession,
    *,
    taxonomy_id: uuid.UUID,
    migration_id: uuid.UUID,
    rows: Sequence[NewRow],
) -> int:
    """Add relabelled rows (never replacing one); returns how many were added."""
    result = await session.execute(
        text(INSERT_RELABELLED),
        {
            "taxonomy_id": taxonomy_id,
            "migration_id": migration_id,
            "ticket_ids": [r.source.ticket_id for r in rows],
            "queues": [r.queue for r in rows],
            "priorities": [r.priority for r in rows],
            "from_queues": [r.source.queue for r in rows],
            "from_priorities": [r.source.priority for r in rows],
            "rules": [r.rule for r in rows],
            "sources": [r.source.source for r in rows],
            "recorded_ats": [r.source.recorded_at for r in rows],
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def count_under(session: AsyncSession, taxonomy_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(RelabelledOutcome.taxonomy_id == taxonomy_id)
    return int((await session.execute(stmt)).scalar_one())


# A route recorded under a migrated taxonomy (a helpdesk outcome after the migration): its
# versions read it there; recorded again, it is replaced, as in ``outcomes``.
RECORD_UNDER = """
INSERT INTO relabelled_outcomes (taxonomy_id, ticket_id, queue, priority, rule, source,
    recorded_at, embedding)
SELECT x.id, t.id, :queue, :priority, 'recorded', :source,
    coalesce(CAST(:recorded_at AS timestamptz), now()), t.embedding
FROM taxonomies x JOIN tickets t ON t.id = :ticket_id
WHERE x.content_hash = :taxonomy_hash
    AND EXISTS (SELECT 1 FROM taxonomy_migrations m WHERE m.to_taxonomy_id = x.id)
ON CONFLICT (taxonomy_id, ticket_id) DO UPDATE SET queue = excluded.queue,
    priority = excluded.priority, rule = excluded.rule, source = excluded.source,
    recorded_at = excluded.recorded_at, from_queue = NULL, from_priority = NULL,
    migration_id = NULL, relabelled_at = now()"""


async def record_under(
    session: AsyncSession,
    *,
    taxonomy_hash: str,
    ticket_id: uuid.UUID,
    queue: str,
    priority: str,
    source: str,
    recorded_at: datetime | None,
) -> None:
    """Record a ticket's route under a taxonomy, if history was migrated into it (else no-op)."""
    await session.execute(
        text(RECORD_UNDER),
        {
            "taxonomy_hash": taxonomy_hash,
            "ticket_id": ticket_id,
            "queue": queue,
            "priority": priority,
            "source": source,
            "recorded_at": recorded_at,
        },
    )


RELABELLED_HNSW = "ix_relabelled_outcomes_embedding_hnsw"


async def table_size(session: AsyncSession) -> int:
    stmt = select(func.count()).select_from(RelabelledOutcome)
    return int((await session.execute(stmt)).scalar_one())


async def drop_index(session: AsyncSession) -> None:
    """Drop the HNSW index (in the caller's transaction: it comes back if that rolls back)."""
    await session.execute(text(f"DROP INDEX IF EXISTS {RELABELLED_HNSW}"))


async def build_index(session: AsyncSession) -> None:
    """(Re)build the HNSW index once after a bulk insert (faster than row by row)."""
    await session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    await session.execute(
        text(
            f"CREATE INDEX IF NOT EXISTS {RELABELLED_HNSW} ON relabelled_outcomes USING hnsw "
            "(embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )
    )
