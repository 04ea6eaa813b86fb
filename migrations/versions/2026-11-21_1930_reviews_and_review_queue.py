"""Reviews of decisions, and the indexes the review queue needs.

One review per decision (confirmed or overridden, with the decision's inclusion probability),
so the override rate among reviewed decisions has its denominator; a partial index serves the
review queue (flagged first, then sampled, newest first) and one finds a ticket's overrides.

Revision ID: 66727a89eeb6
Revises: 8a0e6ac48756
Create Date: 2026-11-21 19:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "66727a89eeb6"
down_revision: str | None = "8a0e6ac48756"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("decision_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("reviewer_id", sa.UUID(), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("inclusion_prob", sa.Float(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("queue_correct", sa.Boolean(), nullable=True),
        sa.Column("priority_correct", sa.Boolean(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "verdict IN ('confirmed', 'overridden')", name=op.f("ck_reviews_verdict")
        ),
        sa.CheckConstraint(
            "inclusion_prob > 0 AND inclusion_prob <= 1", name=op.f("ck_reviews_inclusion_prob")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_reviews_decision_id_decisions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_reviews_reviewer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_reviews_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_reviews_decision_id")),
    )
    op.create_index("ix_reviews_created_at", "reviews", ["created_at"], unique=False)
    op.create_index(
        "ix_decisions_review_queue",
        "decisions",
        ["needs_review", "created_at", "id"],
        unique=False,
        postgresql_where=sa.text("is_final AND sampled_for_review"),
    )
    op.create_index("ix_overrides_ticket_id", "overrides", ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_overrides_ticket_id", table_name="overrides")
    op.drop_index(
        "ix_decisions_review_queue",
        table_name="decisions",
        postgresql_where=sa.text("is_final AND sampled_for_review"),
    )
    op.drop_index("ix_reviews_created_at", table_name="reviews")
    op.drop_table("reviews")
