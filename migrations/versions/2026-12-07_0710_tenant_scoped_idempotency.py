"""Tenant-scoped idempotency: a ticket is identified by (tenant_id, source, external_id).

Two tenants may submit the same (source, external_id); each gets its own ticket. The new unique
constraint treats NULL tenants as equal (NULLS NOT DISTINCT), so history loaded without a tenant
stays deduplicated. Existing rows are unique on (source, external_id), hence on the wider key:
the upgrade cannot fail. The downgrade refuses, naming the colliding pairs, when tenants now
share a pair (restoring the narrow key would need one of each pair's tickets deleted).

Revision ID: a1c0de7e0016
Revises: 7c3f2a91d4e8
Create Date: 2026-12-07 07:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c0de7e0016"
down_revision: str | None = "7c3f2a91d4e8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDE = "uq_tickets_tenant_id_source_external_id"
NARROW = "uq_tickets_source_external_id"


def upgrade() -> None:
    op.create_unique_constraint(
        op.f(WIDE),
        "tickets",
        ["tenant_id", "source", "external_id"],
        postgresql_nulls_not_distinct=True,
    )
    op.drop_constraint(op.f(NARROW), "tickets", type_="unique")


def _collisions() -> list[tuple[str, str, int]]:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT source, external_id, count(*) FROM tickets GROUP BY source, external_id "
            "HAVING count(*) > 1 ORDER BY source, external_id LIMIT 5"
        )
    )
    return [(r[0], r[1], r[2]) for r in rows]


def downgrade() -> None:
    collisions = _collisions()
    if collisions:
        shown = ", ".join(f"({s!r}, {e!r}) x{n}" for s, e, n in collisions)
        raise RuntimeError(
            "cannot restore unique (source, external_id) on tickets: tickets of different "
            f"tenants share a pair, e.g. {shown}. Delete or re-identify one ticket of each "
            "such pair first, then downgrade again."
        )
    op.create_unique_constraint(op.f(NARROW), "tickets", ["source", "external_id"])
    op.drop_constraint(op.f(WIDE), "tickets", type_="unique")
