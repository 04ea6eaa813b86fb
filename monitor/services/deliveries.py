"""The database side of an alert webhook: the alert to describe, and each attempt recorded in
``alert_deliveries`` (the HTTP side is :mod:`monitor.worker.webhooks`). The caller (a task)
owns the transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from agent.models import Alert
from monitor.storage import alerts


def alert_to_send(session: Session, *, alert_id: uuid.UUID) -> Alert:
    """The alert as it stands now; ``LookupError`` when there is none."""
    alert = alerts.get_alert(session, alert_id)
    if alert is None:
        raise LookupError(f"no alert {alert_id}")
    return alert


def record_attempt(
    session: Session,
    *,
    alert_id: uuid.UUID,
    event: str,
    delivery_id: str,
    url: str,
    attempt: int,
    status_code: int | None,
    error: str | None,
    delivered: bool,
) -> None:
    alerts.record_delivery(
        session,
        alert_id=alert_id,
        event=event,
        delivery_id=delivery_id,
        url=url,
        attempt=attempt,
        status_code=status_code,
        error=error,
        delivered=delivered,
    )
