"""The decisions a comparison reads: a candidate's (canary or shadow) and its baseline's,
each with its ticket's truth (the reviewer's queue, the helpdesk outcome)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The reviewer's queue for decision ``{d}``: its own when the review kept it, the override's
# otherwise; and the ticket's helpdesk outcome.
_TRUTH = """
  CASE WHEN r.queue_correct THEN {d}.queue
       WHEN r.queue_correct IS FALSE THEN (
         SELECT ov.new_queue FROM overrides ov WHERE ov.decision_id = {d}.id
         ORDER BY ov.created_at DESC LIMIT 1) END AS truth_review,
  (SELECT o.queue FROM outcomes o WHERE o.ticket_id = {d}.ticket_id AND o.source = 'helpdesk'
   ORDER BY o.recorded_at DESC LIMIT 1) AS truth_outcome"""

_FIELDS = """{d}.ticket_id::text AS ticket_id, 'channel:' || t.channel AS segment, {d}.queue,
  {d}.routed_to, {d}.latency_ms, {d}.cost_usd::float8 AS cost_usd, {d}.created_at AS at"""

SERVED = f"""
SELECT {_FIELDS.format(d="d")}, {_TRUTH.format(d="d")}
FROM decisions d JOIN tickets t ON t.id = d.ticket_id
LEFT JOIN reviews r ON r.decision_id = d.id
WHERE d.is_final AND d.stream = :stream AND d.agent_version_id = :version
  AND d.created_at >= :since
ORDER BY d.created_at, d.id"""

# A shadow's decisions, each with its ticket's truth read from production's (final) decision.
SHADOW = f"""
SELECT {_FIELDS.format(d="s")}, {_TRUTH.format(d="d")}
FROM decisions s JOIN tickets t ON t.id = s.ticket_id
JOIN decisions d ON d.ticket_id = s.ticket_id AND d.is_final
LEFT JOIN reviews r ON r.decision_id = d.id
WHERE s.is_shadow AND s.agent_version_id = :version AND s.created_at >= :since
  AND d.agent_version_id = :baseline
ORDER BY s.created_at, s.id"""

# Production's decisions of the tickets the shadow ran on.
SHADOWED = f"""
SELECT {_FIELDS.format(d="d")}, {_TRUTH.format(d="d")}
FROM decisions s JOIN tickets t ON t.id = s.ticket_id
JOIN decisions d ON d.ticket_id = s.ticket_id AND d.is_final
LEFT JOIN reviews r ON r.decision_id = d.id
WHERE s.is_shadow AND s.agent_version_id = :version AND s.created_at >= :since
  AND d.agent_version_id = :baseline
ORDER BY s.created_at, s.id"""


async def _rows(session: AsyncSession, sql: str, **params: Any) -> list[dict[str, Any]]:
    result = await session.execute(text(sql), params)
    return [dict(row) for row in result.mappings()]


async def served(
    session: AsyncSession, *, version_id: uuid.UUID, stream: str, since: datetime
) -> list[dict[str, Any]]:
    """Final decisions of a version served through ``stream`` (production or canary)."""
    return await _rows(session, SERVED, version=version_id, stream=stream, since=since)


async def shadow_pairs(
    session: AsyncSession, *, version_id: uuid.UUID, baseline_id: uuid.UUID, since: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(baseline, shadow) decisions of the tickets the shadow version ran on."""
    params = {"version": version_id, "baseline": baseline_id, "since": since}
    return await _rows(session, SHADOWED, **params), await _rows(session, SHADOW, **params)


async def first_decision_at(
    session: AsyncSession, *, version_id: uuid.UUID, stream: str
) -> datetime | None:
    """When the version's first decision in ``stream`` was made."""
    result = await session.execute(
        text("SELECT min(created_at) FROM decisions WHERE agent_version_id = :v AND stream = :s"),
        {"v": version_id, "s": stream},
    )
    return result.scalar()
