"""The migrations build the whole data model, and undo it."""

from __future__ import annotations

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

from agent import migrate
from agent.db import sqlalchemy_url
from agent.models import Base

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
    assert "UNIQUE" in indexes["uq_tickets_source_external_id"]
    final = indexes["uq_decisions_one_final_per_ticket"]
    assert "UNIQUE" in final and "WHERE is_final" in final
