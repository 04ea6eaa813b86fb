"""``ticketwatch taxonomy migrate``: renamed, merged, split and dropped queues relabel history as
new rows under the new taxonomy, against the real embedder and Postgres; versions on the old
taxonomy keep seeing the old labels."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml
from typer.testing import CliRunner

from agent.cli import app
from agent.config import get_settings
from agent.datasets.records import LabelledTicket
from agent.db import make_pool
from agent.embed import Embedder
from agent.models import Ticket
from agent.services import taxonomy_migration
from agent.services.calibration import held_out_history
from agent.services.history_loader import load_history
from agent.services.neighbours import PgNeighbourStore
from agent.services.operators import Actor
from agent.services.outcomes import record_helpdesk_outcome
from agent.services.tenants import create_tenant
from agent.taxonomy import PRIORITIES, PriorityDef, QueueDef, Taxonomy
from evals.repository import history_fingerprint
from tests.asyncdb import session_for
from tests.conftest import Servers

runner = CliRunner()

OLD_QUEUES = ("card_arrival", "card_delivery", "transfers", "fees", "legacy")
NEW_QUEUES = ("cards", "international_transfers", "domestic_transfers", "charges")
TICKETS = {
    "card_arrival": [f"my new card {i} has still not arrived in the post" for i in range(6)],
    "card_delivery": [f"how long does delivery of card {i} take" for i in range(6)],
    "transfers": [f"my swift transfer {i} from abroad is missing" for i in range(4)]
    + [f"the sepa transfer {i} to my landlord did not go through" for i in range(4)]
    + [f"transfer {i} is late, where is my money" for i in range(2)],
    "fees": [f"why was I charged fee {i} on my statement" for i in range(6)],
    "legacy": [f"question {i} about the old cheque book service" for i in range(3)],
}
MAPPING = """\
queues:
  card_arrival: cards
  card_delivery: cards
  fees: {to: charges, priority: P2}
  legacy: null
  transfers:
    split:
      international_transfers: {match: ["swift", "abroad"]}
      domestic_transfers: {match: ["\\\\bsepa\\\\b"]}
priorities: {P4: P3}
"""


def taxonomy(name: str, version: str, queues: tuple[str, ...]) -> Taxonomy:
    return Taxonomy(
        name=name,
        version=version,
        queues=[QueueDef(name=q, description=f"tickets about {q}") for q in queues],
        priorities=[
            PriorityDef(name=p, description=p, target_first_response="1h") for p in PRIORITIES
        ],
    )


OLD = taxonomy("bank", "1", OLD_QUEUES)
NEW = taxonomy("bank", "2", NEW_QUEUES)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    for tax in (OLD, NEW):
        path = tmp_path / f"{tax.name}-{tax.version}.yaml"
        path.write_text(yaml.safe_dump(tax.model_dump(mode="json", exclude_none=True)))
    (tmp_path / "mapping.yaml").write_text(MAPPING)
    return tmp_path


@pytest.fixture
def history_db(
    servers: Servers, fresh_db_url: str, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    records = [
        LabelledTicket(text=t, queue=q, priority="P4" if q == "card_delivery" else "P3")
        for q, texts in TICKETS.items()
        for t in texts
    ]
    load_history(fresh_db_url, records, source="old-helpdesk", embedder=embedder)
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("REDIS_URL", servers.redis_url)
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(servers.data_dir))
    monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
    get_settings.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def migrate(files: Path, *extra: str, mapping: str = "mapping.yaml") -> str:
    result = runner.invoke(
        app,
        [
            "taxonomy",
            "migrate",
            str(files / "bank-1.yaml"),
            str(files / "bank-2.yaml"),
            "--map",
            str(files / mapping),
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return result.output


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def relabelled(url: str) -> dict[str, tuple[str, str, str, str]]:
    """Each relabelled ticket's text -> (old queue, new queue, new priority, rule)."""
    found = rows(
        url,
        "SELECT t.body, r.from_queue, r.queue, r.priority, r.rule FROM relabelled_outcomes r "
        "JOIN tickets t ON t.id = r.ticket_id",
    )
    return {str(b): (str(f), str(q), str(p), str(rule)) for b, f, q, p, rule in found}


def test_rename_merge_split_and_drop_write_new_rows_and_leave_the_old_ones(history_db, files):
    before = rows(history_db, "SELECT ticket_id, queue, priority FROM outcomes ORDER BY 1")
    out = migrate(files)
    got = relabelled(history_db)
    # merge: both card queues become cards; P4 -> P3 by the priority map
    assert {got[t] for t in TICKETS["card_arrival"]} == {("card_arrival", "cards", "P3", "merge")}
    assert {got[t] for t in TICKETS["card_delivery"]} == {("card_delivery", "cards", "P3", "merge")}
    # rename with a per-queue priority
    assert {got[t] for t in TICKETS["fees"]} == {("fees", "charges", "P2", "rename")}
    # split by the rules; the tickets no rule matches are not written, and are reported
    split = Counter(got[t][1] for t in TICKETS["transfers"] if t in got)
    assert split == {"international_transfers": 4, "domestic_transfers": 4}
    assert not any(t in got for t in TICKETS["transfers"][8:])
    assert "2 tickets of queue transfers need a label" in out
    assert not any(t in got for t in TICKETS["legacy"])  # dropped
    assert "legacy dropped: 3" in out and "card_arrival -> cards (merge): 6" in out
    assert len(got) == 6 + 6 + 8 + 6
    # the recorded outcomes are exactly as they were (append-only)
    assert rows(history_db, "SELECT ticket_id, queue, priority FROM outcomes ORDER BY 1") == before


def test_running_twice_writes_nothing_new_and_a_refined_split_adds_only_the_rest(history_db, files):
    migrate(files)
    first = rows(history_db, "SELECT ticket_id, queue, relabelled_at FROM relabelled_outcomes")
    audits = rows(history_db, "SELECT count(*) FROM audit_log WHERE action = 'taxonomy.migrate'")
    again = migrate(files)
    assert "wrote 0 new rows (26 were there already)" in again
    assert sorted(first) == sorted(
        rows(history_db, "SELECT ticket_id, queue, relabelled_at FROM relabelled_outcomes")
    )
    assert rows(history_db, "SELECT count(*) FROM taxonomy_migrations") == [(1,)]
    assert (
        rows(history_db, "SELECT count(*) FROM audit_log WHERE action = 'taxonomy.migrate'")
        == audits
    )
    refined = MAPPING.replace(
        '["\\\\bsepa\\\\b"]}', '["\\\\bsepa\\\\b"]}\n    default: domestic_transfers'
    )
    (files / "refined.yaml").write_text(refined)
    out = migrate(files, mapping="refined.yaml")
    assert "wrote 2 new rows (26 were there already)" in out
    got = relabelled(history_db)
    assert {got[t][1:] for t in TICKETS["transfers"][8:]} == {
        ("domestic_transfers", "P3", "split-default")
    }
    kept = {(r[0], r[1], r[2]) for r in first}
    assert kept <= set(
        rows(history_db, "SELECT ticket_id, queue, relabelled_at FROM relabelled_outcomes")
    )


def test_a_dry_run_reports_and_writes_nothing(history_db, files):
    out = migrate(files, "--dry-run")
    assert "would write 26 new rows" in out
    report = json.loads(migrate(files, "--dry-run", "--json"))
    assert (report["written"], report["dry_run"]) == (26, True)
    assert report["needs_label"] == {"transfers": 2} and report["dropped"] == {"legacy": 3}
    assert rows(history_db, "SELECT count(*) FROM relabelled_outcomes") == [(0,)]
    assert rows(history_db, "SELECT count(*) FROM taxonomy_migrations") == [(0,)]


async def _nearest_queues(url: str, text_embedding, taxonomy_hash: str | None) -> set[str]:
    pool = make_pool(url, size=2, statement_timeout_ms=10_000, wait_timeout_s=10)
    await pool.open(wait=True)
    try:
        store = PgNeighbourStore(pool)
        found = await store.nearest(
            embedding=text_embedding,
            k=40,
            exclude_ticket_id="00000000-0000-0000-0000-000000000000",
            taxonomy=taxonomy_hash,
        )
    finally:
        await pool.close()
    return {n.queue for n in found}


def test_versions_on_old_see_old_labels_and_versions_on_new_the_relabelled_ones(
    history_db, files, embedder
):
    migrate(files)
    query = embedder.embed(["my card has not arrived"])[0]
    assert asyncio.run(_nearest_queues(history_db, query, OLD.content_hash)) == set(OLD_QUEUES)
    assert asyncio.run(_nearest_queues(history_db, query, None)) == set(OLD_QUEUES)
    assert asyncio.run(_nearest_queues(history_db, query, NEW.content_hash)) == set(NEW_QUEUES)
    # fitting a version reads the same label set
    fitted_new = held_out_history(history_db, n=100, k=5, taxonomy=NEW.content_hash)
    fitted_old = held_out_history(history_db, n=100, k=5, taxonomy=OLD.content_hash)
    assert {c.queue for c in fitted_new} == set(NEW_QUEUES) and len(fitted_new) == 26
    assert {n.queue for c in fitted_new for n in c.neighbours} == set(NEW_QUEUES)
    assert {c.queue for c in fitted_old} == set(OLD_QUEUES) and len(fitted_old) == 31


def test_history_is_migrated_into_a_taxonomy_from_one_source_only(history_db, files):
    migrate(files)
    other = taxonomy("bank", "1b", (*OLD_QUEUES, "extra"))
    (files / "bank-1.yaml").write_text(
        yaml.safe_dump(other.model_dump(mode="json", exclude_none=True))
    )
    (files / "m2.yaml").write_text(
        MAPPING.replace("  legacy: null\n", "  legacy: null\n  extra: cards\n")
    )
    result = runner.invoke(
        app,
        [
            "taxonomy",
            "migrate",
            str(files / "bank-1.yaml"),
            str(files / "bank-2.yaml"),
            "--map",
            str(files / "m2.yaml"),
        ],
    )
    assert result.exit_code == 1
    assert "already migrated into bank@2 from another taxonomy" in result.output


async def _helpdesk_outcome(url: str, embedding: list[float], external_id: str, tax: Taxonomy):
    async with session_for(url) as session:
        tenant, _ = await create_tenant(
            session, name=f"acme-{external_id}", actor=Actor("tests", "admin")
        )
        ticket = Ticket(
            tenant_id=tenant.id,
            source="acme",
            external_id=external_id,
            body="a wire from abroad via swift",
            received_at=datetime.now(UTC),
            embedding=embedding,
            embedding_model="tests",
        )
        session.add(ticket)
        await session.flush()
        queue = "international_transfers" if tax is NEW else "transfers"
        await record_helpdesk_outcome(
            session,
            tenant_id=tenant.id,
            queue=queue,
            priority="P2",
            taxonomy=tax,
            ticket_id=ticket.id,
        )


def test_an_outcome_recorded_after_the_migration_is_read_by_versions_on_the_new_taxonomy(
    history_db, files, embedder
):
    migrate(files)
    vector = embedder.embed(["a wire from abroad via swift"])[0].tolist()
    asyncio.run(_helpdesk_outcome(history_db, vector, "new-1", NEW))
    asyncio.run(_helpdesk_outcome(history_db, vector, "old-1", OLD))  # OLD: not migrated into
    found = rows(
        history_db,
        "SELECT t.external_id, r.queue, r.rule, r.source FROM relabelled_outcomes r "
        "JOIN tickets t ON t.id = r.ticket_id WHERE t.source = 'acme'",
    )
    assert found == [("new-1", "international_transfers", "recorded", "helpdesk")]


def test_a_bulk_migration_builds_the_hnsw_index_once_and_keeps_it(history_db, files, monkeypatch):
    monkeypatch.setattr(taxonomy_migration, "BULK_ROWS", 10)
    migrate(files)
    assert len(relabelled(history_db)) == 26
    index = rows(
        history_db,
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_relabelled_outcomes_embedding_hnsw'",
    )
    assert len(index) == 1 and "hnsw" in str(index[0][0])


async def _fingerprint(url: str) -> dict[str, object]:
    async with session_for(url) as session:
        return await history_fingerprint(session)


def test_stored_eval_runs_are_not_reused_across_a_migration(history_db, files):
    """The history fingerprint in an eval run's context counts the relabelled rows too."""
    before = asyncio.run(_fingerprint(history_db))
    migrate(files)
    after = asyncio.run(_fingerprint(history_db))
    assert "relabelled" not in before and after["relabelled"] == 26
    assert after["outcomes"] == before["outcomes"]
