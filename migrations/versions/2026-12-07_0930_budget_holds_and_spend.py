"""Budget holds and a per-tenant monthly spend ledger.

``budget_reservations``: before a model call the router holds the classifier's cost estimate
against the tenant's monthly budget (one row); recording the decision deletes the row in the
same statement, so the decision's ``cost_usd`` counts in its place. Rows of crashed calls stop
counting at ``expires_at`` and are swept by the tenant's next hold.

``tenant_spend``: the month's model cost per tenant (UTC calendar months), kept by a trigger on
``decisions`` (each insert adds its cost; a deletion refunds nothing, the calls were paid for),
so reading a tenant's spend is one row, not a sum over the month's decisions, and no writer of
decisions can forget it. The upgrade fills it from
the existing decisions. Both tables are new: the upgrade cannot fail on existing data; the
downgrade drops holds in flight and the ledger (the decisions keep every cost).

Revision ID: c3d7b0d9e012
Revises: d4e5f6a70013
Create Date: 2026-12-07 09:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c3d7b0d9e012"
down_revision: str | None = "d4e5f6a70013"
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
    create_spend_ledger()


SPEND_FUNCTION = """
CREATE FUNCTION ticketwatch_count_spend() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tenant uuid;
BEGIN
  IF NEW.cost_usd IS NULL OR NEW.cost_usd = 0 THEN RETURN NULL; END IF;
  SELECT t.tenant_id INTO tenant FROM tickets t WHERE t.id = NEW.ticket_id;
  IF tenant IS NULL THEN RETURN NULL; END IF;
  INSERT INTO tenant_spend AS s (tenant_id, month, spent_usd)
  VALUES (tenant, date_trunc('month', NEW.created_at AT TIME ZONE 'UTC')::date, NEW.cost_usd)
  ON CONFLICT (tenant_id, month) DO UPDATE SET spent_usd = s.spent_usd + excluded.spent_usd;
  RETURN NULL;
END $$"""

BACKFILL = """
INSERT INTO tenant_spend (tenant_id, month, spent_usd)
SELECT t.tenant_id, date_trunc('month', d.created_at AT TIME ZONE 'UTC')::date, sum(d.cost_usd)
FROM decisions d JOIN tickets t ON t.id = d.ticket_id
WHERE t.tenant_id IS NOT NULL AND d.cost_usd <> 0
GROUP BY 1, 2"""


def create_spend_ledger() -> None:
    op.create_table(
        "tenant_spend",
        sa.Column(
            "tenant_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey(
                "tenants.id", ondelete="CASCADE", name=op.f("fk_tenant_spend_tenant_id_tenants")
            ),
            nullable=False,
        ),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("spent_usd", sa.Numeric(14, 6), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "month", name=op.f("pk_tenant_spend")),
    )
    op.execute(SPEND_FUNCTION)
    # Spend once recorded stays counted: deleting a ticket or a decision refunds no model call.
    op.execute(
        "CREATE TRIGGER decisions_count_spend AFTER INSERT ON decisions "
        "FOR EACH ROW EXECUTE FUNCTION ticketwatch_count_spend()"
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER decisions_count_spend ON decisions")
    op.execute("DROP FUNCTION ticketwatch_count_spend()")
    op.drop_table("tenant_spend")
    op.drop_index(
        op.f("ix_budget_reservations_tenant_id_expires_at"), table_name="budget_reservations"
    )
    op.drop_table("budget_reservations")
