"""The reads of an alert's explanation: each ticket's nearest labelled ticket, and texts.

Functions take the caller's session and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from agent.models import Ticket
from monitor.storage.repository import _driver

# Each ticket's nearest labelled ticket known before ``before`` (itself excluded), by cosine
# distance: one HNSW index scan on outcomes per ticket.
NEAREST_SQL = """
SELECT t.id, n.distance, n.queue
FROM tickets t
LEFT JOIN LATERAL (
    SELECT o.embedding <=> t.embedding AS distance, o.queue
    FROM outcomes o
    WHERE o.ticket_id <> t.id AND o.embedding IS NOT NULL AND o.recorded_at < %(before)s
    ORDER BY o.embedding <=> t.embedding
    LIMIT 1
) n ON true
WHERE t.id = ANY(%(ids)s)
"""


def nearest_history(
    session: Session, ticket_ids: Sequence[uuid.UUID], *, before: datetime
) -> dict[uuid.UUID, tuple[float | None, str | None]]:
    """Distance to, and queue of, each ticket's nearest labelled ticket recorded before."""
    if not ticket_ids:
        return {}
    session.execute(text("SET LOCAL hnsw.ef_search = 64"))
    session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    with _driver(session).cursor(binary=True) as cur:
        cur.execute(NEAREST_SQL.encode(), {"ids": list(ticket_ids), "before": before})
        return {row[0]: (row[1], row[2]) for row in cur.fetchall()}


def ticket_texts(session: Session, ticket_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Subject and body of each ticket, joined by a blank."""
    if not ticket_ids:
        return {}
    rows = session.execute(
        select(Ticket.id, Ticket.subject, Ticket.body).where(Ticket.id.in_(list(ticket_ids)))
    ).all()
    return {tid: f"{subject} {body}".strip() for tid, subject, body in rows}
