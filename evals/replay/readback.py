"""Reading the monitor's verdict on a window back from its tables (signal_values, alerts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.models import Alert, SignalValue
from evals.replay.verdicts import SignalPoint
from monitor.storage.alerts import WINDOW_RULE

EVIDENCE = "evidence"
OPEN_STATUSES = ("open", "acknowledged")


def signal_rows(
    session: Session, *, window_size_s: int, window_end: datetime, segment: str
) -> dict[str, SignalValue]:
    """Every stored signal value of one window and segment, by signal name."""
    stmt = select(SignalValue).where(
        SignalValue.window_size_s == window_size_s,
        SignalValue.window_end == window_end,
        SignalValue.segment == segment,
    )
    return {row.signal: row for row in session.scalars(stmt)}


def point(row: SignalValue) -> SignalPoint:
    """A stored signal value as the report plots it."""
    lower = row.details.get("lower_threshold") if row.details else None
    return SignalPoint(
        row.value,
        row.threshold,
        float(lower) if isinstance(lower, int | float) else None,
        row.drifted,
        row.insufficient,
    )


def alert_open(session: Session, *, segment: str, window_size_s: int) -> bool:
    """Whether the alert stream of (segment, window size) has its own alert open now (a
    late-label alert is about one past window: counted when it opens, never held open)."""
    stmt = select(Alert.id).where(
        Alert.rule == WINDOW_RULE,
        Alert.segment == segment,
        Alert.window_size_s == window_size_s,
        Alert.status.in_(OPEN_STATUSES),
    )
    return session.scalar(stmt.limit(1)) is not None
