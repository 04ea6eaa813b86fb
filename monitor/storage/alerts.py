"""The monitor's SQL on alerts and webhook deliveries, for its synchronous tasks and commands.

The async alert calls (an operator's move, the monitor's actions) are
:mod:`agent.repositories.operations`; none is implemented twice."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.models import Alert, AlertDelivery

OPEN_STATUSES = ("open", "acknowledged")
# A stream's alert, driven window by window by the evidence (its hysteresis), and an alert on one
# past window that the labels arriving after it proved wrong (no hysteresis: a person closes it).
WINDOW_RULE = "evidence_score"
LATE_LABEL_RULE = "late_labels"


def current_alert(session: Session, *, segment: str, window_size_s: int) -> Alert | None:
    """The open (or acknowledged) stream alert of a segment and window size, locked."""
    stmt = (
        select(Alert)
        .where(
            Alert.rule == WINDOW_RULE,
            Alert.segment == segment,
            Alert.window_size_s == window_size_s,
            Alert.status.in_(OPEN_STATUSES),
        )
        .order_by(Alert.opened_at.desc())
        .limit(1)
        .with_for_update()
    )
    return session.scalar(stmt)


def latest_window_applied(session: Session, *, segment: str, window_size_s: int) -> datetime | None:
    """The last window any stream alert of this segment and size has taken into account."""
    stmt = (
        select(Alert.last_window_end)
        .where(
            Alert.rule == WINDOW_RULE,
            Alert.segment == segment,
            Alert.window_size_s == window_size_s,
        )
        .order_by(Alert.last_window_end.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def late_label_alert(
    session: Session, *, segment: str, window_size_s: int, window_end: datetime
) -> Alert | None:
    """The late-label alert already opened on this past window (any status), locked."""
    stmt = (
        select(Alert)
        .where(
            Alert.rule == LATE_LABEL_RULE,
            Alert.segment == segment,
            Alert.window_size_s == window_size_s,
            Alert.last_window_end == window_end,
        )
        .limit(1)
        .with_for_update()
    )
    return session.scalar(stmt)


def add_alert(session: Session, **values: Any) -> Alert:
    row = Alert(**values)
    session.add(row)
    session.flush()
    return row


def get_alert(session: Session, alert_id: uuid.UUID) -> Alert | None:
    return session.get(Alert, alert_id)


def alerts(session: Session, *, statuses: tuple[str, ...] = OPEN_STATUSES) -> list[Alert]:
    stmt = select(Alert).where(Alert.status.in_(statuses)).order_by(Alert.opened_at.desc())
    return list(session.scalars(stmt))


def record_delivery(session: Session, **values: Any) -> None:
    session.add(AlertDelivery(**values))
    session.flush()


def deliveries(session: Session, alert_id: uuid.UUID) -> list[AlertDelivery]:
    stmt = (
        select(AlertDelivery)
        .where(AlertDelivery.alert_id == alert_id)
        .order_by(AlertDelivery.attempted_at, AlertDelivery.id)
    )
    return list(session.scalars(stmt))
