"""How a segment of a window reads in SQL: the column or expression of each segment kind."""

from __future__ import annotations

from typing import Any

from monitor.stats.windows import ALL, segment_kind, segment_value

# A ticket's tenant as a segment value (``tenant:<slug>``): the tenant's slug, or for a tenant
# without one (its portal was never enabled) its name as agent.services.portal.slug_of makes
# a slug of it; NULL for a ticket without a tenant (history, evals).
TENANT_SEGMENT = (
    "COALESCE(n.slug, NULLIF(btrim(left(btrim(regexp_replace(lower(n.name), '[^a-z0-9]+', '-', "
    "'g'), '-'), 63), '-'), ''))"
)
TENANT_JOIN = "LEFT JOIN tenants n ON n.id = t.tenant_id"
DECISION_SEGMENT = {
    "queue": "d.queue",
    "priority": "d.priority",
    "channel": "t.channel",
    "tenant": TENANT_SEGMENT,
}
HISTORY_SEGMENT = {**DECISION_SEGMENT, "queue": "o.queue", "priority": "o.priority"}


def with_tenant(sql: str, filters: str) -> str:
    return sql.format(filters=filters, tenant=TENANT_SEGMENT, tenant_join=TENANT_JOIN)


def segment_filter(segment: str, columns: dict[str, str]) -> tuple[str, dict[str, Any]]:
    if segment == ALL:
        return "", {}
    return f" AND {columns[segment_kind(segment)]} = %(segment_value)s", {
        "segment_value": segment_value(segment)
    }
