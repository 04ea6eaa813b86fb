"""Monitor references, cached calibrations, webhook deliveries.

monitor_references records the period each version's windows are compared with;
monitor_calibrations caches the bootstrap nulls per reference, segment and bucket of tickets per window;
alert_deliveries keeps every webhook attempt.

Revision ID: 7c3f2a91d4e8
Revises: 5e7a1c0d9b21
Create Date: 2026-11-22 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7c3f2a91d4e8"
down_revision: str | None = "5e7a1c0d9b21"
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
        "monitor_references",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("agent_version_id", sa.UUID(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_tickets", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        _now("created_at"),
        sa.CheckConstraint(
            "kind IN ('traffic', 'history')", name=op.f("ck_monitor_references_kind")
        ),
        sa.ForeignKeyConstraint(
            ["agent_version_id"],
            ["agent_versions.id"],
            name=op.f("fk_monitor_references_agent_version_id_agent_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_references")),
    )
    op.create_index(
        "ix_monitor_references_version_active",
        "monitor_references",
        ["agent_version_id", "active", "created_at"],
        unique=False,
    )
    op.create_table(
        "monitor_calibrations",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("reference_id", sa.UUID(), nullable=False),
        sa.Column("segment", sa.String(length=150), nullable=False),
        sa.Column("n_bucket", sa.Integer(), nullable=False),
        sa.Column("n_reference", sa.Integer(), nullable=False),
        sa.Column("replicates", sa.Integer(), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        _jsonb("null_values"),
        _jsonb("offsets"),
        _jsonb("thresholds"),
        sa.Column("seconds", sa.Float(), nullable=False),
        _now("computed_at"),
        sa.ForeignKeyConstraint(
            ["reference_id"],
            ["monitor_references.id"],
            name=op.f("fk_monitor_calibrations_reference_id_monitor_references"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_calibrations")),
        sa.UniqueConstraint(
            "reference_id",
            "segment",
            "n_bucket",
            name=op.f("uq_monitor_calibrations_reference_id_segment_n_bucket"),
        ),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("alert_id", sa.UUID(), nullable=False),
        sa.Column("event", sa.String(length=50), nullable=False),
        sa.Column("delivery_id", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        _now("attempted_at"),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_deliveries_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
    )
    op.create_index(
        "ix_alert_deliveries_alert_id",
        "alert_deliveries",
        ["alert_id", "attempted_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_alert_deliveries_alert_id", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_table("monitor_calibrations")
    op.drop_index("ix_monitor_references_version_active", table_name="monitor_references")
    op.drop_table("monitor_references")
