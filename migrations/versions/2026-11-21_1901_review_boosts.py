"""Review-sampling boosts per segment (monitor action or operator).

Revision ID: 8a0e6ac48756
Revises: bda31e03db4f
Create Date: 2026-11-21 19:01:58.213321+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8a0e6ac48756"
down_revision: str | None = "bda31e03db4f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_boosts",
        sa.Column("segment", sa.String(length=150), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("rate > 0 AND rate <= 1", name=op.f("ck_review_boosts_rate")),
        sa.PrimaryKeyConstraint("segment", name=op.f("pk_review_boosts")),
    )


def downgrade() -> None:
    op.drop_table("review_boosts")
