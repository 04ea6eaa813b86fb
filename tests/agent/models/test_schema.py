"""Database-enforced rules: append-only tables, uniqueness under concurrency, the HNSW index."""

from __future__ import annotations

import threading
import uuid

import numpy as np
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.factories import make_agent_version, make_audit_entry, make_decision, make_ticket


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE agent_versions SET rationale = 'rewritten' WHERE id = :id",
        "DELETE FROM agent_versions WHERE id = :id",
    ],
)
def test_agent_versions_are_append_only(db, statement):
    version = make_agent_version(db)
    with pytest.raises(DBAPIError, match="append-only"):
        with db.begin_nested():
            db.execute(text(statement), {"id": version.id})


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'rewritten' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
    ],
)
def test_audit_log_is_append_only(db, statement):
    entry = make_audit_entry(db)
    with pytest.raises(DBAPIError, match="append-only"):
        with db.begin_nested():
            db.execute(text(statement), {"id": entry.id})


def test_truncating_the_audit_log_is_refused(db):
    make_audit_entry(db)
    with pytest.raises(DBAPIError, match="append-only"):
        with db.begin_nested():
            db.execute(text("TRUNCATE audit_log"))


def _race(url: str, n: int, statement: str, params: dict) -> tuple[int, int]:
    """Run ``statement`` from ``n`` connections released at the same instant."""
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    conns = [psycopg.connect(url) for _ in range(n)]

    def attempt(conn: psycopg.Connection) -> None:
        barrier.wait()
        try:
            with conn.transaction():
                conn.execute(statement, params)
            outcomes.append("ok")
        except psycopg.errors.UniqueViolation:
            outcomes.append("unique_violation")

    threads = [threading.Thread(target=attempt, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    return outcomes.count("ok"), outcomes.count("unique_violation")


def test_concurrent_inserts_of_one_ticket_keep_exactly_one(fresh_db_url):
    n = 12
    ok, dup = _race(
        fresh_db_url,
        n,
        "INSERT INTO tickets (id, source, external_id, subject, body, channel, metadata, "
        "received_at) VALUES (gen_random_uuid(), 'race', 'same-id', '', 'x', 'web', '{}', now())",
        {},
    )
    assert (ok, dup) == (1, n - 1)
    with psycopg.connect(fresh_db_url) as conn:
        count = conn.execute(
            "SELECT count(*) FROM tickets WHERE external_id = 'same-id'"
        ).fetchone()
    assert count == (1,)


def test_concurrent_final_decisions_for_one_ticket_keep_exactly_one(fresh_db_url):
    ticket_id = uuid.uuid4()
    with psycopg.connect(fresh_db_url) as conn:
        conn.execute(
            "INSERT INTO tickets (id, source, external_id, subject, body, channel, "
            "metadata, received_at) "
            "VALUES (%s, 'race', 't1', '', 'x', 'web', '{}', now())",
            (ticket_id,),
        )
    n = 8
    ok, dup = _race(
        fresh_db_url,
        n,
        "INSERT INTO decisions (id, ticket_id, is_final, is_shadow, routed_to, mode, needs_review, "
        "queue_probs, priority_probs, prompt_tokens, completion_tokens, cost_usd, latency_ms, "
        "sampled_for_review) VALUES (gen_random_uuid(), %(t)s, true, false, 'cards', 'agent', "
        "false, '{}', '{}', 0, 0, 0, 0, false)",
        {"t": ticket_id},
    )
    assert (ok, dup) == (1, n - 1)


def test_non_final_decisions_may_accompany_the_final_one(db):
    ticket = make_ticket(db)
    make_decision(db, ticket)
    make_decision(db, ticket, is_final=False, is_shadow=True)
    make_decision(db, ticket, is_final=False, is_shadow=True)
    with pytest.raises(DBAPIError):
        with db.begin_nested():
            make_decision(db, ticket)


def test_knn_query_on_embeddings_uses_the_hnsw_index(fresh_db_url):
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((1500, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with psycopg.connect(fresh_db_url) as conn:
        with conn.cursor().copy(
            "COPY tickets (id, source, external_id, subject, body, channel, metadata, "
            "received_at, embedding) FROM STDIN"
        ) as copy:
            for i, v in enumerate(vectors):
                copy.write_row(
                    (
                        uuid.uuid4(),
                        "bulk",
                        str(i),
                        "",
                        "x",
                        "web",
                        "{}",
                        "2026-01-01T00:00:00Z",
                        "[" + ",".join(map(str, v)) + "]",
                    )
                )
        conn.execute("ANALYZE tickets")
        query = "[" + ",".join(map(str, vectors[0])) + "]"
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN SELECT id FROM tickets ORDER BY embedding <=> %s::vector LIMIT 10",
                (query,),
            ).fetchall()
        )
        nearest = conn.execute(
            "SELECT external_id FROM tickets ORDER BY embedding <=> %s::vector LIMIT 1", (query,)
        ).fetchone()
    assert "ix_tickets_embedding_hnsw" in plan
    assert nearest == ("0",)
