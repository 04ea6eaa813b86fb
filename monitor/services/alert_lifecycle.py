"""Alert lifecycle: one alert stream per (segment, window size), driven by the evidence.

Each computed window moves its stream through :func:`monitor.stats.hysteresis.step`: a critical
window (or ``monitor_open_after`` warning windows in a row) opens an alert, a worse window
escalates it, ``monitor_clear_after`` clean windows in a row resolve it (resolved_by
``monitor``). Insufficient windows never reach here: they neither open nor clear. A window is
applied once: recomputing it (or an older one) leaves the alert as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from agent.models import Alert
from agent.repositories import operations
from monitor.stats.attribution import EVIDENCE_KEY
from monitor.stats.evidence import Evidence
from monitor.stats.hysteresis import AlertState, Severity, step
from monitor.stats.jsonable import jsonable
from monitor.stats.windows import Window
from monitor.storage import alerts, repository

RULE = alerts.WINDOW_RULE
EventKind = Literal["opened", "escalated", "resolved"]


@dataclass(frozen=True)
class AlertEvent:
    """Something a webhook and the opt-in actions hear about."""

    alert_id: uuid.UUID
    kind: EventKind
    severity: str


def advance(
    session: Session,
    *,
    window: Window,
    segment: str,
    evidence: Evidence,
    evidence_doc: dict[str, Any],
    explain: Callable[[], dict[str, Any]],
    open_after: int,
    clear_after: int,
) -> AlertEvent | None:
    """Apply one window's evidence to its alert stream; the event it caused, if any."""
    repository.lock(session, f"monitor:alert:{segment}:{window.size_s}")
    applied = alerts.latest_window_applied(session, segment=segment, window_size_s=window.size_s)
    if applied is not None and applied >= window.end:
        return None
    alert = alerts.current_alert(session, segment=segment, window_size_s=window.size_s)
    state = _state(session, alert, segment, window, open_after)
    transition = step(state, evidence.severity, clear_after=clear_after, open_after=open_after)
    now = datetime.now(UTC)
    if transition.action == "open":
        alert = alerts.add_alert(
            session,
            rule=RULE,
            segment=segment,
            window_size_s=window.size_s,
            status="open",
            severity=evidence.severity,
            score=evidence.score,
            threshold=evidence.warning_threshold,
            opened_at=now,
            updated_at=now,
            last_window_end=window.end,
            clean_windows=0,
            evidence=evidence_doc,
            explanation=jsonable(explain()),
            actions={},
        )
        audit(session, alert, "alert.open", window)
        return AlertEvent(alert.id, "opened", alert.severity)
    if alert is None:
        return None
    alert.last_window_end = window.end
    alert.updated_at = now
    alert.clean_windows = transition.state.clean_streak
    if evidence.severity != "none":
        kept = {k: v for k, v in (alert.evidence or {}).items() if k == EVIDENCE_KEY}
        alert.score, alert.evidence = evidence.score, {**evidence_doc, **kept}
    if transition.action == "escalate":
        alert.severity = transition.state.severity
        alert.explanation = jsonable(explain())
        session.flush()
        return AlertEvent(alert.id, "escalated", alert.severity)
    if transition.action == "clear":
        alert.status, alert.resolved_by, alert.resolved_at = "resolved", "monitor", now
        alert.clean_windows = clear_after
        session.flush()
        audit(session, alert, "alert.resolve", window)
        return AlertEvent(alert.id, "resolved", alert.severity)
    session.flush()
    return None


def audit(session: Session, alert: Alert, action: str, window: Window) -> None:
    """The monitor's own moves on an alert, in the audit log beside the operators'."""
    operations.add_audit_entry(
        session,
        actor="monitor",
        actor_role="monitor",
        action=action,
        target=str(alert.id),
        details={
            "rule": alert.rule,
            "segment": alert.segment,
            "window_size_s": alert.window_size_s,
            "window_end": window.end.isoformat(),
            "severity": alert.severity,
            "score": alert.score,
        },
    )


def _state(
    session: Session, alert: Alert | None, segment: str, window: Window, open_after: int
) -> AlertState:
    if alert is not None:
        severity: Severity = "critical" if alert.severity == "critical" else "warning"
        return AlertState("open", severity, alert.clean_windows, 0, 0)
    previous = [window.end - timedelta(seconds=window.size_s * k) for k in range(1, open_after)]
    seen = repository.evidence_severities(
        session, segment=segment, window_size_s=window.size_s, ends=previous
    )
    dirty = 0
    for end in previous:  # newest first: count the unbroken run of non-clean windows
        if seen.get(end, "none") == "none":
            break
        dirty += 1
    return AlertState(dirty_streak=dirty)


def evidence_document(
    evidence: Evidence,
    *,
    window: Window,
    n: int,
    n_reference: int,
    reference: dict[str, Any],
    max_signals: int = 8,
) -> dict[str, Any]:
    """The evidence as an alert stores it: score, thresholds, what moved, the top signals."""
    top = [c for c in evidence.contributions if c.drifted or c.evidence >= 1.0][:max_signals]
    return jsonable(
        {
            "window": {"size_s": window.size_s, "start": window.start, "end": window.end},
            "n": n,
            "n_reference": n_reference,
            "reference": reference,
            "score": evidence.score,
            "tail_prob": evidence.tail_prob,
            "warning_threshold": evidence.warning_threshold,
            "critical_threshold": evidence.critical_threshold,
            "severity": evidence.severity,
            "what_moved": {
                "kind": evidence.what_moved.kind,
                "summary": evidence.what_moved.summary,
            },
            "signals": {
                c.name: {
                    "value": c.value,
                    "tail_prob": c.tail_prob,
                    "evidence": c.evidence,
                    "drifted": c.drifted,
                    "group": c.group,
                }
                for c in top
            },
        }
    )


def delivery_id(alert: Alert, event: str) -> str:
    """Stable per event, so a receiver can drop a repeated delivery (at-least-once)."""
    suffix = f":{alert.severity}" if event == "escalated" else ""
    return f"{alert.id}:{event}{suffix}"


def webhook_payload(alert: Alert, event: str) -> dict[str, Any]:
    """The JSON body POSTed to the webhook for an alert event."""
    return jsonable(
        {
            "event": f"alert.{event}",
            "delivery_id": delivery_id(alert, event),
            "alert": {
                "id": alert.id,
                "rule": alert.rule,
                "segment": alert.segment,
                "window_size_s": alert.window_size_s,
                "status": alert.status,
                "severity": alert.severity,
                "score": alert.score,
                "threshold": alert.threshold,
                "opened_at": alert.opened_at,
                "last_window_end": alert.last_window_end,
                "resolved_at": alert.resolved_at,
                "evidence": alert.evidence,
                "explanation": alert.explanation,
                "actions": alert.actions,
                # world drifted or change regressed (``alert.attributed``); None until then
                "attribution": (alert.evidence or {}).get(EVIDENCE_KEY),
            },
        }
    )
