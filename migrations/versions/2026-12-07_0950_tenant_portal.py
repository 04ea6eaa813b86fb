"""Tenant portal: a URL slug per tenant, and whether its public ticket portal is on.

``slug`` names the portal (``/portal/<slug>``); it is NULL until an operator enables the
portal, which sets it. ``portal_enabled_at`` NULL means the portal is off (the default).
``portal_show_queue`` lets a tenant show the queue's display name on the portal's pages.

Revision ID: e7a1f0c40017
Revises: c3d4e5f60017
Create Date: 2026-12-07 09:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e7a1f0c40017"
down_revision: str | None = "c3d4e5f60017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("slug", sa.String(63), nullable=True))
    op.add_column(
        "tenants", sa.Column("portal_enabled_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "tenants",
        sa.Column(
            "portal_show_queue", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.create_unique_constraint(op.f("uq_tenants_slug"), "tenants", ["slug"])
    op.create_check_constraint(
        op.f("ck_tenants_slug"), "tenants", "slug ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_tenants_slug"), "tenants", type_="check")
    op.drop_constraint(op.f("uq_tenants_slug"), "tenants", type_="unique")
    op.drop_column("tenants", "portal_show_queue")
    op.drop_column("tenants", "portal_enabled_at")
    op.drop_column("tenants", "slug")
