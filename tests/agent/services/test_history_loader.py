"""Loading history: bulk, resumable after an interruption, idempotent, indexes rebuilt."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector

from agent.datasets.records import LabelledTicket
from agent.embed import Embedder
from agent.services.history_loader import BULK_THRESHOLD, external_ids, load_history
from tests.dbutil import create_database, drop_database, unique_name


class FailsAfter:
    """Failure injection: the real embedder, which breaks on call number ``n``."""

    def __init__(self, inner: Embedder, n: int) -> None:
        self.inner, self.n, self.calls = inner, n, 0
        self.model_name, self.dim = inner.model_name, inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.n:
            raise RuntimeError("embedding service went away")
        return self.inner.embed(texts)


class FailsOn:
    """Failure injection for parallel loads: the real embedder, which breaks on the chunk that
    holds ``text`` (whichever worker gets it, whenever)."""

    def __init__(self, inner: Embedder, text: str) -> None:
        self.inner, self.text = inner, text
        self.model_name, self.dim = inner.model_name, inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self.text in texts:
            raise RuntimeError("embedding service went away")
        return self.inner.embed(texts)


def records(n: int) -> list[LabelledTicket]:
    queues = [
        ("transfers", "P3", "my transfer {} has not arrived"),
        ("card_orders", "P4", "when will my new card {} be delivered"),
        ("top_ups", "P4", "top up number {} failed, can I retry"),
    ]
    return [
        LabelledTicket(text=t.format(i), queue=q, priority=p)
        for i in range(n)
        for q, p, t in [queues[i % 3]]
    ]


def counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM outcomes), "
            "(SELECT count(*) FROM outcomes WHERE embedding IS NOT NULL)"
        ).fetchone()
    assert row is not None
    return row


def stored(url: str) -> list[tuple[object, ...]]:
    """Every loaded row as ticket and outcome hold it (the random ids left out)."""
    with psycopg.connect(url) as conn:
        register_vector(conn)
        rows = conn.execute(
            "SELECT t.external_id, t.body, t.embedding, t.embedding_model, o.queue, o.priority, "
            "o.embedding FROM tickets t JOIN outcomes o ON o.ticket_id = t.id "
            "ORDER BY t.external_id"
        ).fetchall()
    return [
        (*r[:2], r[2].to_numpy().tobytes(), r[3], r[4], r[5], r[6].to_numpy().tobytes())
        for r in rows
    ]


def hnsw_indexes(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%hnsw%'")
        return {r[0] for r in rows}


def test_load_is_idempotent(fresh_db_url, embedder):
    data = records(60)
    first = load_history(fresh_db_url, data, source="h", embedder=embedder, chunk=25)
    again = load_history(fresh_db_url, data, source="h", embedder=embedder, chunk=25)
    assert (first.inserted, first.skipped) == (60, 0)
    assert (again.inserted, again.skipped) == (0, 60)
    assert counts(fresh_db_url) == (60, 60, 60)
    with psycopg.connect(fresh_db_url) as conn:  # each load is audited, with what it did
        audited = conn.execute(
            "SELECT actor, action, target, (details->>'inserted')::int, "
            "(details->>'skipped')::int FROM audit_log ORDER BY id"
        ).fetchall()
    assert audited == [
        ("system", "history.load", "h", 60, 0),
        ("system", "history.load", "h", 0, 60),
    ]


def test_an_interrupted_load_resumes_without_redoing_committed_chunks(fresh_db_url, embedder):
    data = records(100)
    failing = FailsAfter(embedder, n=3)
    with pytest.raises(RuntimeError, match="went away"):
        load_history(fresh_db_url, data, source="h", embedder=failing, chunk=25)
    assert counts(fresh_db_url) == (50, 50, 50)  # two chunks were committed
    resumed = load_history(fresh_db_url, data, source="h", embedder=embedder, chunk=25)
    assert (resumed.inserted, resumed.skipped) == (50, 50)
    assert counts(fresh_db_url) == (100, 100, 100)
    assert {"ix_tickets_embedding_hnsw", "ix_outcomes_embedding_hnsw"} <= hnsw_indexes(fresh_db_url)


def test_a_parallel_load_stores_exactly_what_a_serial_one_does(
    fresh_db_url, servers, template_db, embedder
):
    data = records(130)
    serial = load_history(fresh_db_url, data, source="h", embedder=embedder, chunk=20)
    other = unique_name("tw_test")
    create_database(servers.postgres_url, other, template=template_db)
    try:
        parallel_url = servers.database(other)
        report = load_history(
            parallel_url, data, source="h", embedder=embedder, chunk=20, workers=3
        )
        assert (report.inserted, serial.inserted) == (130, 130)
        assert stored(parallel_url) == stored(fresh_db_url)
        assert len(stored(parallel_url)) == 130
    finally:
        drop_database(servers.postgres_url, other)


def test_an_interrupted_parallel_load_keeps_the_chunks_before_the_failure_and_resumes(
    fresh_db_url, embedder
):
    data = records(100)
    failing = FailsOn(embedder, data[50].text)  # the third chunk of 25
    with pytest.raises(RuntimeError, match="went away"):
        load_history(fresh_db_url, data, source="h", embedder=failing, chunk=25, workers=3)
    assert counts(fresh_db_url) == (50, 50, 50)  # later chunks, embedded or not, not written
    resumed = load_history(fresh_db_url, data, source="h", embedder=embedder, chunk=25, workers=3)
    assert (resumed.inserted, resumed.skipped) == (50, 50)
    assert counts(fresh_db_url) == (100, 100, 100)


def test_a_first_bulk_load_rebuilds_the_indexes_even_when_interrupted(fresh_db_url, embedder):
    data = records(BULK_THRESHOLD + 10)
    failing = FailsAfter(embedder, n=2)
    with pytest.raises(RuntimeError):
        load_history(fresh_db_url, data, source="bulk", embedder=failing, chunk=512)
    assert {"ix_tickets_embedding_hnsw", "ix_outcomes_embedding_hnsw"} <= hnsw_indexes(fresh_db_url)
    report = load_history(fresh_db_url, data, source="bulk", embedder=embedder, chunk=512)
    assert report.inserted == len(data) - 512
    assert counts(fresh_db_url)[1] == len(data)


def test_external_ids_are_stable_positions_unless_given():
    data = records(3)
    assert external_ids(data, "src") == ["src:0", "src:1", "src:2"]


def test_a_tenants_ticket_with_a_historys_id_neither_blocks_nor_is_replaced_by_the_load(
    fresh_db_url, embedder
):
    data = records(6)
    ids = external_ids(data, "h")
    with psycopg.connect(fresh_db_url) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name, api_key_hash, api_key_prefix, rate_limit_per_minute) "
            "VALUES (%s, 'acme', 'hash-acme', 'tw_', 60)",
            (tenant := uuid.uuid4(),),
        )
        conn.execute(
            "INSERT INTO tickets (id, tenant_id, source, external_id, subject, body, channel, "
            "metadata, received_at) VALUES (%s, %s, 'h', %s, '', 'a tenant''s own ticket', "
            "'web', '{}', now())",
            (uuid.uuid4(), tenant, ids[0]),
        )
    report = load_history(fresh_db_url, data, source="h", embedder=embedder)
    assert (report.inserted, report.skipped) == (6, 0)
    with psycopg.connect(fresh_db_url) as conn:
        rows = conn.execute(
            "SELECT t.tenant_id IS NULL, t.body, o.source FROM tickets t LEFT JOIN outcomes o "
            "ON o.ticket_id = t.id WHERE t.external_id = %s ORDER BY 1",
            (ids[0],),
        ).fetchall()
    assert rows == [(False, "a tenant's own ticket", None), (True, data[0].text, "history")]
    assert counts(fresh_db_url) == (7, 6, 6)
