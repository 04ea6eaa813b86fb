"""The attribution's SQL: an alert window's labelled decisions and the previous production
version. The caller's session; nothing commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from agent.models import Alert, AuditEntry
from monitor.storage.segments import DECISION_SEGMENT, TENANT_JOIN, segment_filter

# Final production decisions of one version on tickets received in [start, end) that have a
# label: the reviewer's queue (the decision's own when the review kept it, the override's
# otherwise), else the latest helpdesk (or reviewer) outcome, as the monitor reads labels.
# Above ``limit``, the same deterministic sample as the monitor's windows (hash of source and
# external id).
LABELLED_SQL = """
SELECT * FROM (
  SELECT t.id AS ticket_id, d.queue,
    COALESCE(
      CASE WHEN r.queue_correct THEN d.queue
           WHEN r.queue_correct IS FALSE THEN (
             SELECT ov.new_queue FROM overrides ov WHERE ov.decision_id = d.id
             ORDER BY ov.created_at DESC LIMIT 1) END,
      (SELECT o.queue FROM outcomes o WHERE o.ticket_id = t.id AND o.source <> 'history'
       ORDER BY o.recorded_at DESC LIMIT 1)) AS truth,
    md5(t.source || ':' || t.external_id) AS draw
  FROM decisions d
  JOIN tickets t ON t.id = d.ticket_id
  {tenant_join}
  LEFT JOIN reviews r ON r.decision_id = d.id
  WHERE d.is_final AND d.stream = 'production' AND d.agent_version_id = :version
    AND t.received_at >= :start AND t.received_at < :end {filters}
) labelled
WHERE truth IS NOT NULL
ORDER BY draw, ticket_id
LIMIT :limit
"""


@dataclass(frozen=True)
class LabelledDecision:
    ticket_id: uuid.UUID
    queue: str | None
    truth: str


def labelled_decisions(
    session: Session,
    *,
    version_id: uuid.UUID,
    segment: str,
    start: datetime,
    end: datetime,
    limit: int,
) -> list[LabelledDecision]:
    """Up to ``limit`` of the version's labelled production decisions of a window's segment."""
    where, params = segment_filter(segment, DECISION_SEGMENT)
    where = where.replace("%(segment_value)s", ":segment_value")
    sql = LABELLED_SQL.format(tenant_join=TENANT_JOIN, filters=where)
    params.update(version=version_id, start=start, end=end, limit=limit)
    rows = session.execute(text(sql), params)
    return [LabelledDecision(r.ticket_id, r.queue, r.truth) for r in rows]


def previous_production(session: Session, *, current: uuid.UUID) -> uuid.UUID | None:
    """The version that held the production label before ``current``: the latest move of the
    label (promote, roll back) that names another version it replaced."""
    stmt = (
        select(AuditEntry.details)
        .where(AuditEntry.target == "production", AuditEntry.action.like("version.%"))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(500)
    )
    for details in session.scalars(stmt):
        previous = (details or {}).get("previous_version_id")
        if previous and uuid.UUID(previous) != current:
            return uuid.UUID(previous)
    return None


def alert(session: Session, alert_id: uuid.UUID, *, lock: bool = False) -> Alert | None:
    """An alert by id (locked for update with ``lock``)."""
    return session.get(Alert, alert_id, with_for_update=lock)
