"""Golden sets and eval runs.

golden_sets registers each versioned golden dataset (its JSONL lives in the data directory,
named by its content hash); eval_runs keeps every scored run of an agent version on one.

Revision ID: 5e7a1c0d9b21
Revises: 66727a89eeb6
Create Date: 2026-11-21 19:45:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5e7a1c0d9b21"
down_revision: str | None = "66727a89eeb6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _jsonb(name: str) -> sa.Column:
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()), nullable=False)


def _now(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "golden_sets",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("n_cases", sa.Integer(), nullable=False),
        sa.Column("taxonomy", sa.String(length=160), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_golden_sets")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_golden_sets_name_version")),
    )
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("agent_version_id", sa.UUID(), nullable=False),
        sa.Column("golden_set_id", sa.UUID(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("n_cases", sa.Integer(), nullable=False),
        _jsonb("metrics"),
        _jsonb("per_segment"),
        _jsonb("context"),
        _jsonb("predictions"),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_version_id"],
            ["agent_versions.id"],
            name=op.f("fk_eval_runs_agent_version_id_agent_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["golden_set_id"],
            ["golden_sets.id"],
            name=op.f("fk_eval_runs_golden_set_id_golden_sets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_runs")),
    )
    op.create_index(
        "ix_eval_runs_version_golden",
        "eval_runs",
        ["agent_version_id", "golden_set_id", "finished_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_eval_runs_version_golden", table_name="eval_runs")
    op.drop_table("eval_runs")
    op.drop_table("golden_sets")
