"""How a segment of a window reads in SQL: the column or expression of each segment kind."""

from __future__ import annotations

from typing import Any

from agent.repositories.tenants import SEGMENT_SLUG
from monitor.stats.windows import ALL, is_candidate_stream, segment_kind, segment_value

# A ticket's tenant as a segment value (``tenant:<slug>``); NULL for a ticket without a
# tenant (history, evals).
TENANT_SEGMENT = SEGMENT_SLUG
TENANT_JOIN = "LEFT JOIN tenants n ON n.id = t.tenant_id"
DECISION_SEGMENT = {
    "queue": "d.queue",
    "priority": "d.priority",
    "channel": "t.channel",
    "tenant": TENANT_SEGMENT,
}
HISTORY_SEGMENT = {**DECISION_SEGMENT, "queue": "o.queue", "priority": "o.priority"}


# Which decisions a stream holds; a traffic reference takes a version's served decisions.
STREAM_SQL = {
    "production": "d.is_final AND d.stream = 'production'",
    "canary": "d.is_final AND d.stream = 'canary'",
    "shadow": "d.is_shadow",
    "served": "d.is_final AND NOT d.is_shadow",
}


def with_tenant(sql: str, filters: str, **more: str) -> str:
    return sql.format(filters=filters, tenant=TENANT_SEGMENT, tenant_join=TENANT_JOIN, **more)


def segment_filter(segment: str, columns: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The SQL condition of a segment; a candidate stream (``version:canary``) is a stream,
    not a filter (see ``STREAM_SQL``)."""
    if segment == ALL or is_candidate_stream(segment):
        return "", {}
    return f" AND {columns[segment_kind(segment)]} = %(segment_value)s", {
        "segment_value": segment_value(segment)
    }
