"""Taxonomy migrations: history relabelled from one taxonomy version to the next.

``taxonomy_migrations`` records each mapping applied (``ticketwatch taxonomy migrate``);
``relabelled_outcomes`` holds the relabelled routes, one row per (new taxonomy, ticket), with a
copy of the ticket's embedding and an HNSW index of its own. ``outcomes`` is not touched: its
rows stay as they were for versions on the old taxonomy.

Revision ID: d4e5f6a70013
Revises: b2c1a55e0011
Create Date: 2026-12-07 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision: str = "d4e5f6a70013"
down_revision: str | None = "b2c1a55e0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> sa.Column[sa.DateTime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "taxonomy_migrations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("from_taxonomy_id", sa.UUID(), nullable=False),
        sa.Column("to_taxonomy_id", sa.UUID(), nullable=False),
        sa.Column("mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("mapping_hash", sa.String(length=64), nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        _now(),
        sa.ForeignKeyConstraint(
            ["from_taxonomy_id"],
            ["taxonomies.id"],
            name=op.f("fk_taxonomy_migrations_from_taxonomy_id_taxonomies"),
        ),
        sa.ForeignKeyConstraint(
            ["to_taxonomy_id"],
            ["taxonomies.id"],
            name=op.f("fk_taxonomy_migrations_to_taxonomy_id_taxonomies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxonomy_migrations")),
        sa.UniqueConstraint(
            "from_taxonomy_id",
            "to_taxonomy_id",
            "mapping_hash",
            name=op.f("uq_taxonomy_migrations_from_taxonomy_id_to_taxonomy_id_mapping_hash"),
        ),
    )
    op.create_index(
        op.f("ix_taxonomy_migrations_to_taxonomy_id"),
        "taxonomy_migrations",
        ["to_taxonomy_id"],
        unique=False,
    )
    op.create_table(
        "relabelled_outcomes",
        sa.Column("taxonomy_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("migration_id", sa.UUID(), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("from_queue", sa.String(length=100), nullable=True),
        sa.Column("from_priority", sa.String(length=10), nullable=True),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "relabelled_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("embedding", Vector(384), nullable=True),
        sa.ForeignKeyConstraint(
            ["taxonomy_id"],
            ["taxonomies.id"],
            name=op.f("fk_relabelled_outcomes_taxonomy_id_taxonomies"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_relabelled_outcomes_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["migration_id"],
            ["taxonomy_migrations.id"],
            name=op.f("fk_relabelled_outcomes_migration_id_taxonomy_migrations"),
        ),
        sa.PrimaryKeyConstraint("taxonomy_id", "ticket_id", name=op.f("pk_relabelled_outcomes")),
    )
    op.create_index(
        "ix_relabelled_outcomes_embedding_hnsw",
        "relabelled_outcomes",
        ["embedding"],
        unique=False,
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_cosine_ops"},
        postgresql_with={"m": 16, "ef_construction": 64},
    )


def downgrade() -> None:
    op.drop_index("ix_relabelled_outcomes_embedding_hnsw", table_name="relabelled_outcomes")
    op.drop_table("relabelled_outcomes")
    op.drop_index(op.f("ix_taxonomy_migrations_to_taxonomy_id"), table_name="taxonomy_migrations")
    op.drop_table("taxonomy_migrations")
