"""Budget reservations: model spend held for calls in flight.

Before a model call the router reserves the classifier's cost estimate against the tenant's
monthly budget (one row here); recording the decision deletes the row in the same statement, so
the decision's ``cost_usd`` counts in its place. Rows of crashed calls stop counting at
``expires_at`` and are swept by the tenant's next reservation. A new, empty table: the upgrade
cannot fail on existing data, and the downgrade only drops holds that are in flight.

Revision ID: c3d7b0d9e012
Revises: b2c1a55e0011
Create Date: 2026-12-07 09:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c3d7b0d9e012"
down_revision: str | None = "b2c1a55e0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "budget_reservations",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "tenant_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey(
                "tenants.id",
                ondelete="CASCADE",
                name=op.f("fk_budget_reservations_tenant_id_tenants"),
            ),
            nullable=False,
        ),
        sa.Column(
            "ticket_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey(
                "tickets.id",
                ondelete="CASCADE",
                name=op.f("fk_budget_reservations_ticket_id_tickets"),
            ),
            nullable=False,
        ),
        sa.Column("amount_usd", sa.Numeric(12, 6), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_reservations")),
    )
    op.create_index(
        op.f("ix_budget_reservations_tenant_id_expires_at"),
        "budget_reservations",
        ["tenant_id", "expires_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_budget_reservations_tenant_id_expires_at"), table_name="budget_reservations"
    )
    op.drop_table("budget_reservations")
