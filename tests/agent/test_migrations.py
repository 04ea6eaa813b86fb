"""The migrations build the whole data model, and undo it."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

from agent import migrate
from agent.db import sqlalchemy_url
from agent.models import Base
from tests.dbutil import add_tenant

EXPECTED_TABLES = {
    "tenants",
    "users",
    "taxonomies",
    "agent_versions",
    "version_labels",
    "tickets",
    "decisions",
    "trace_spans",
    "outcomes",
    "overrides",
    "switches",
    "audit_log",
    "signal_values",
    "alerts",
    "reviews",
    "golden_sets",
    "eval_runs",
    "monitor_references",
    "monitor_calibrations",
    "alert_deliveries",
    "budget_reservations",
    "tenant_spend",
}


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows} - {"alembic_version"}


def _has_vector_extension(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
    return row is not None


def test_upgrade_downgrade_upgrade_round_trips(servers, fresh_db_url):
    # fresh_db_url starts at head (cloned from the migrated template)
    assert EXPECTED_TABLES <= _tables(fresh_db_url)
    migrate.downgrade(fresh_db_url, "base")
    assert _tables(fresh_db_url) == set()
    assert not _has_vector_extension(fresh_db_url)
    assert migrate.current_revision(fresh_db_url) is None
    migrate.upgrade(fresh_db_url)
    assert EXPECTED_TABLES <= _tables(fresh_db_url)
    assert _has_vector_extension(fresh_db_url)
    assert migrate.current_revision(fresh_db_url) == migrate.head_revision()


def test_upgrade_twice_is_a_no_op(fresh_db_url):
    head = migrate.current_revision(fresh_db_url)
    migrate.upgrade(fresh_db_url)
    migrate.upgrade(fresh_db_url)
    assert migrate.current_revision(fresh_db_url) == head == migrate.head_revision()


def test_models_and_migrations_describe_the_same_schema(fresh_db_url):
    engine = create_engine(sqlalchemy_url(fresh_db_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert diff == []


def test_hnsw_index_and_constraints_exist(fresh_db_url):
    with psycopg.connect(fresh_db_url) as conn:
        indexes = dict(
            conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            ).fetchall()
        )
    assert "USING hnsw (embedding vector_cosine_ops)" in indexes["ix_tickets_embedding_hnsw"]
    assert indexes["uq_tickets_tenant_id_source_external_id"].startswith("CREATE UNIQUE INDEX")
    assert (
        "(tenant_id, source, external_id) NULLS NOT DISTINCT"
        in (indexes["uq_tickets_tenant_id_source_external_id"])
    )
    assert "uq_tickets_source_external_id" not in indexes
    final = indexes["uq_decisions_one_final_per_ticket"]
    assert "UNIQUE" in final and "WHERE is_final" in final


BEFORE_TENANT_SCOPE = "7c3f2a91d4e8"


def _unique_constraints(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'tickets'::regclass AND contype = 'u'"
        ).fetchall()
    return dict(rows)


def _add_ticket(url: str, tenant_id: uuid.UUID | None, source: str, external_id: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO tickets (id, tenant_id, source, external_id, subject, body, channel, "
            "metadata, received_at) VALUES (%s, %s, %s, %s, '', 'b', 'web', '{}', now())",
            (uuid.uuid4(), tenant_id, source, external_id),
        )


def test_tenant_scoped_idempotency_keeps_existing_rows_and_downgrades_only_without_collisions(
    fresh_db_url,
):
    url = fresh_db_url
    migrate.downgrade(url, BEFORE_TENANT_SCOPE)
    assert _unique_constraints(url) == {
        "uq_tickets_source_external_id": "UNIQUE (source, external_id)"
    }
    a, b = add_tenant(url), add_tenant(url)
    _add_ticket(url, a, "desk", "1")
    _add_ticket(url, None, "history", "1")
    migrate.upgrade(url)  # existing rows, unique on the narrow key, are valid on the wide one
    head = migrate.current_revision(url)
    assert _unique_constraints(url) == {
        "uq_tickets_tenant_id_source_external_id": (
            "UNIQUE NULLS NOT DISTINCT (tenant_id, source, external_id)"
        )
    }
    _add_ticket(url, b, "desk", "1")  # another tenant's ticket with the same pair
    for tenant in (a, None):  # the same tenant's pair, and history's, stay unique
        with pytest.raises(psycopg.errors.UniqueViolation):
            _add_ticket(url, tenant, "desk" if tenant else "history", "1")
    with pytest.raises(RuntimeError, match=r"tenants share a pair, e.g. \('desk', '1'\) x2"):
        migrate.downgrade(url, BEFORE_TENANT_SCOPE)
    assert migrate.current_revision(url) == head  # the failed downgrade changed nothing
    assert "uq_tickets_tenant_id_source_external_id" in _unique_constraints(url)
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM tickets WHERE tenant_id = %s", (b,))
    migrate.downgrade(url, BEFORE_TENANT_SCOPE)
    assert _unique_constraints(url) == {
        "uq_tickets_source_external_id": "UNIQUE (source, external_id)"
    }
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM tickets").fetchone() == (2,)


BEFORE_BUDGET_HOLDS = "d4e5f6a70013"


def _add_decision(url: str, tenant_id: uuid.UUID | None, cost: str, created_at: str) -> None:
    ticket = uuid.uuid4()
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO tickets (id, tenant_id, source, external_id, subject, body, channel, "
            "metadata, received_at) VALUES (%s, %s, 's', %s, '', 'b', 'web', '{}', now())",
            (ticket, tenant_id, ticket.hex),
        )
        conn.execute(
            "INSERT INTO decisions (id, ticket_id, routed_to, mode, needs_review, queue_probs, "
            "priority_probs, prompt_tokens, completion_tokens, cost_usd, latency_ms, "
            "sampled_for_review, is_final, is_shadow, created_at) VALUES (%s, %s, 'cards', "
            "'agent', false, '{}', '{}', 0, 0, %s, 1, false, true, false, %s)",
            (uuid.uuid4(), ticket, cost, created_at),
        )


def _ledger(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT tenant_id, month::text, spent_usd::text FROM tenant_spend ORDER BY 2"
        ).fetchall()


def test_the_spend_ledger_is_filled_from_past_decisions_and_kept_by_the_trigger(fresh_db_url):
    url = fresh_db_url
    migrate.downgrade(url, BEFORE_BUDGET_HOLDS)
    tenant = add_tenant(url)
    _add_decision(url, tenant, "0.25", "2026-10-31 23:59:59+00")
    _add_decision(url, tenant, "0.5", "2026-11-01 00:00:01+00")
    _add_decision(url, tenant, "0.125", "2026-11-15 12:00:00+00")
    _add_decision(url, None, "9", "2026-11-15 12:00:00+00")  # history: no tenant, no budget
    migrate.upgrade(url)
    assert _ledger(url) == [(tenant, "2026-10-01", "0.250000"), (tenant, "2026-11-01", "0.625000")]
    _add_decision(url, tenant, "0.001", "2026-11-20 08:00:00+00")  # written after: the trigger
    _add_decision(url, tenant, "0", "2026-11-20 08:00:00+00")
    assert _ledger(url)[-1] == (tenant, "2026-11-01", "0.626000")
    migrate.downgrade(url, BEFORE_BUDGET_HOLDS)
    assert not {"tenant_spend", "budget_reservations"} & _tables(url)
    _add_decision(url, tenant, "1", "2026-11-20 08:00:00+00")  # no trigger left behind
    migrate.upgrade(url)
