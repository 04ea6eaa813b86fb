"""Decision streams: which label served a decision, one shadow decision per (ticket, version),
and the shadow's model cost counted apart from the tenants' budgets.

``decisions.stream`` is ``production``, ``canary`` or ``shadow`` (the label the version was
served through); a check keeps it in step with ``is_shadow`` and keeps shadow decisions out of
the final ones. ``shadow_spend`` is the month's model cost of shadow runs per version: the
spend trigger adds a shadow decision's cost there instead of to ``tenant_spend``, so a shadow
never spends a tenant's budget.

Revision ID: 5d0a3c1e7b15
Revises: e7a1f0c40017
Create Date: 2026-12-07 12:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5d0a3c1e7b15"
down_revision: str | None = "e7a1f0c40017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION ticketwatch_count_spend() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tenant uuid;
BEGIN
  IF NEW.cost_usd IS NULL OR NEW.cost_usd = 0 THEN RETURN NULL; END IF;
  IF NEW.is_shadow THEN
    INSERT INTO shadow_spend AS s (agent_version_id, month, spent_usd)
    VALUES (NEW.agent_version_id, date_trunc('month', NEW.created_at AT TIME ZONE 'UTC')::date,
            NEW.cost_usd)
    ON CONFLICT (agent_version_id, month) DO UPDATE SET spent_usd = s.spent_usd + excluded.spent_usd;
    RETURN NULL;
  END IF;
  SELECT t.tenant_id INTO tenant FROM tickets t WHERE t.id = NEW.ticket_id;
  IF tenant IS NULL THEN RETURN NULL; END IF;
  INSERT INTO tenant_spend AS s (tenant_id, month, spent_usd)
  VALUES (tenant, date_trunc('month', NEW.created_at AT TIME ZONE 'UTC')::date, NEW.cost_usd)
  ON CONFLICT (tenant_id, month) DO UPDATE SET spent_usd = s.spent_usd + excluded.spent_usd;
  RETURN NULL;
END $$"""

OLD_SPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION ticketwatch_count_spend() RETURNS trigger LANGUAGE plpgsql AS $$
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


def upgrade() -> None:
    op.add_column(
        "decisions",
        sa.Column("stream", sa.String(16), server_default=sa.text("'production'"), nullable=False),
    )
    op.execute("UPDATE decisions SET stream = 'shadow' WHERE is_shadow")
    op.create_check_constraint(
        op.f("ck_decisions_stream"),
        "decisions",
        "stream IN ('production', 'canary', 'shadow') AND is_shadow = (stream = 'shadow') "
        "AND NOT (is_shadow AND is_final)",
    )
    op.create_index(
        "uq_decisions_one_shadow_per_ticket_version",
        "decisions",
        ["ticket_id", "agent_version_id"],
        unique=True,
        postgresql_where=sa.text("is_shadow"),
    )
    op.create_table(
        "shadow_spend",
        sa.Column(
            "agent_version_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey(
                "agent_versions.id", name=op.f("fk_shadow_spend_agent_version_id_agent_versions")
            ),
            nullable=False,
        ),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("spent_usd", sa.Numeric(14, 6), nullable=False),
        sa.PrimaryKeyConstraint("agent_version_id", "month", name=op.f("pk_shadow_spend")),
    )
    op.execute(SPEND_FUNCTION)


def downgrade() -> None:
    op.execute(OLD_SPEND_FUNCTION)
    op.drop_table("shadow_spend")
    op.drop_index("uq_decisions_one_shadow_per_ticket_version", table_name="decisions")
    op.drop_constraint(op.f("ck_decisions_stream"), "decisions", type_="check")
    op.drop_column("decisions", "stream")
