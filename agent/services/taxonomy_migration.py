"""``taxonomy migrate``: relabel history from one taxonomy version to the next.

The relabelled routes are new rows (``relabelled_outcomes``) under the new taxonomy; the
recorded outcomes stay as they were, so versions on the old taxonomy see the old labels and
versions on the new one the new labels. The whole migration is one unit of work (the caller's
transaction), and it is idempotent: tickets already relabelled under the new taxonomy are
skipped, so running it twice writes nothing new, and a refined mapping (a split rule that
labels more tickets) adds only the tickets still missing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from agent.repositories import catalog, relabels
from agent.services.operators import Actor, OperatorError, audit
from agent.services.versions import register_taxonomy
from agent.taxonomy import Taxonomy
from agent.taxonomy_mapping import DROPPED, NEEDS_LABEL, TaxonomyMapping, rule_counts

BATCH = 2000
# Rows from which a migration into a (mostly) empty table drops the HNSW index and builds it
# once at the end, in its transaction: several times faster than row by row. Meanwhile the
# table is locked, so versions on migrated taxonomies wait (the first migration has none).
BULK_ROWS = 2000


@dataclass
class MigrationReport:
    old: str
    new: str
    read_from: str  # "recorded outcomes" or "relabelled under <taxonomy>"
    pending: int  # source rows not yet relabelled under the new taxonomy
    already: int  # rows under the new taxonomy before this run
    written: int = 0
    per_rule: dict[str, int] = field(default_factory=dict)
    needs_label: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    foreign: dict[str, int] = field(default_factory=dict)  # queues not in the old taxonomy
    recorded_migration: bool = False
    dry_run: bool = False

    def lines(self) -> list[str]:
        """What the migration did, for people."""
        verb = "would write" if self.dry_run else "wrote"
        out = [
            f"{self.old} -> {self.new}: read {self.pending} outcomes ({self.read_from}) not yet "
            f"relabelled; {verb} {self.written} new rows ({self.already} were there already)"
        ]
        out += [f"  {rule}: {n}" for rule, n in sorted(self.per_rule.items())]
        out += [
            f"  {n} tickets of queue {q} need a label: no split rule matched (add a pattern or "
            "a default, and run again)"
            for q, n in sorted(self.needs_label.items())
        ]
        out += [
            f"  {n} tickets of queue {q} left out: {q} is not a queue of {self.old}"
            for q, n in sorted(self.foreign.items())
        ]
        return out


def _name(taxonomy: Taxonomy) -> str:
    return f"{taxonomy.name}@{taxonomy.version}"


async def _taxonomy_id(session: AsyncSession, taxonomy: Taxonomy, *, dry_run: bool) -> uuid.UUID:
    if not dry_run:
        return (await register_taxonomy(session, taxonomy)).id
    row = await catalog.taxonomy_by_hash(session, taxonomy.content_hash)
    return row.id if row is not None else uuid.uuid4()  # not stored: nothing refers to it


async def _check_source(
    session: AsyncSession, *, old: Taxonomy, new: Taxonomy, old_id: uuid.UUID, new_id: uuid.UUID
) -> None:
    """History under a taxonomy comes from one other taxonomy: refuse a second source."""
    for earlier in await relabels.migrations_into(session, new_id):
        if earlier.from_taxonomy_id != old_id:
            raise OperatorError(
                f"history was already migrated into {_name(new)} from another taxonomy; "
                f"make a new version of {new.name} to migrate from {_name(old)}"
            )


async def migrate_taxonomy(
    session: AsyncSession,
    *,
    old: Taxonomy,
    new: Taxonomy,
    mapping: TaxonomyMapping,
    actor: Actor,
    dry_run: bool = False,
    batch: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> MigrationReport:
    """Relabel the old taxonomy's history under the new one by ``mapping``; ``progress`` is
    told each batch's size and the number of rows to write."""
    if old.content_hash == new.content_hash:
        raise OperatorError("OLD and NEW are the same taxonomy: nothing to migrate")
    old_id = await _taxonomy_id(session, old, dry_run=dry_run)
    new_id = await _taxonomy_id(session, new, dry_run=dry_run)
    await _check_source(session, old=old, new=new, old_id=old_id, new_id=new_id)
    migrated = await relabels.is_migrated_into(session, old_id)
    source = await relabels.pending(session, labels=old_id if migrated else None, into=new_id)
    report = MigrationReport(
        old=_name(old),
        new=_name(new),
        read_from=f"relabelled under {_name(old)}" if migrated else "recorded outcomes",
        pending=len(source),
        already=await relabels.count_under(session, new_id),
        dry_run=dry_run,
    )
    mapped = [
        (r, mapping.relabel(r.queue, r.priority, r.text)) for r in source if _known(r, mapping)
    ]
    report.foreign = dict(Counter(r.queue for r in source if not _known(r, mapping)))
    report.per_rule = dict(rule_counts(mapping, [(r.queue, x) for r, x in mapped]))
    report.needs_label = dict(Counter(r.queue for r, x in mapped if x.rule == NEEDS_LABEL))
    report.dropped = dict(Counter(r.queue for r, x in mapped if x.rule == DROPPED))
    rows = [relabels.NewRow(r, x.queue, x.priority, x.rule) for r, x in mapped if x.queue]
    if dry_run:
        report.written = len(rows)
        return report
    migration = await _migration_row(session, old_id, new_id, mapping, report, bool(rows), actor)
    if migration is None:
        return report
    bulk = len(rows) >= BULK_ROWS and await relabels.table_size(session) < len(rows)
    if bulk:
        await relabels.drop_index(session)
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        report.written += await relabels.insert_relabelled(
            session, taxonomy_id=new_id, migration_id=migration, rows=part
        )
        if progress:
            progress(len(part), len(rows))
    if bulk:
        await relabels.build_index(session)
    await audit(
        session,
        actor,
        "taxonomy.migrate",
        f"{report.old}->{report.new}",
        mapping=mapping.content_hash,
        written=report.written,
        needs_label=report.needs_label,
    )
    return report


def _known(row: relabels.SourceRow, mapping: TaxonomyMapping) -> bool:
    return row.queue in mapping.rules


async def _migration_row(
    session: AsyncSession,
    old_id: uuid.UUID,
    new_id: uuid.UUID,
    mapping: TaxonomyMapping,
    report: MigrationReport,
    has_rows: bool,
    actor: Actor,
) -> uuid.UUID | None:
    """The migration the new rows belong to: this mapping's (recorded once); None when there
    is nothing to write and the new taxonomy is already a migration target (a no-op rerun)."""
    existing = await relabels.migration(
        session, from_id=old_id, to_id=new_id, mapping_hash=mapping.content_hash
    )
    if existing is not None:
        return existing.id if has_rows else None
    if not has_rows and await relabels.is_migrated_into(session, new_id):
        return None
    row = await relabels.add_migration(
        session,
        from_taxonomy_id=old_id,
        to_taxonomy_id=new_id,
        mapping=mapping.to_json(),
        mapping_hash=mapping.content_hash,
        counts=report.per_rule,
        created_by=actor.name,
    )
    report.recorded_migration = True
    return row.id


async def mapping_between(
    session: AsyncSession, *, old_id: uuid.UUID, new_id: uuid.UUID
) -> TaxonomyMapping | None:
    """The mapping history was last migrated by from taxonomy ``old_id`` into ``new_id``."""
    found = [
        m for m in await relabels.migrations_into(session, new_id) if m.from_taxonomy_id == old_id
    ]
    return TaxonomyMapping.from_json(found[-1].mapping) if found else None
