"""Judge a past window again on the labels that arrived after it closed.

A window is judged 30 s after it closes, when few of its tickets have a final route yet. At
each horizon of ``monitor_label_horizons`` (1 h, 24 h, 7 d after the window closed) the
``label_accuracy`` signal is computed again with every label known by then, against the same
reference, and tested at the stream's late-label alpha (its share of the deployment's budget,
split across the horizons). The result is a ``signal_values`` row of its own per window and
horizon (``label_accuracy@1h``); a window that proves wrong opens a ``late_labels`` alert on
that past window, once, whatever later horizons find. The caller owns the transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from agent.config import Settings
from monitor.services import alert_lifecycle
from monitor.services.alert_lifecycle import AlertEvent
from monitor.services.compute import signal_row
from monitor.services.window_inputs import WindowInputs, load_inputs
from monitor.signals import SignalResult, get_signal
from monitor.signals.label_accuracy import NAME, alarm_accuracy
from monitor.stats.jsonable import jsonable
from monitor.stats.windows import Window, format_duration
from monitor.storage import alerts, repository

CRITICAL_FACTOR = 10.0  # critical when p is ten times below the alpha, as the evidence's


def horizon_signal(horizon_s: int) -> str:
    """The signal name of a re-judgement's row: ``label_accuracy@1h``."""
    return f"{NAME}@{format_duration(horizon_s)}"


@dataclass
class RejudgeReport:
    """What one re-judgement of one window found."""

    window: Window
    segment: str
    horizon_s: int
    judged_at: datetime
    result: SignalResult
    severity: str = "none"
    events: list[AlertEvent] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return jsonable(
            {
                "window_size_s": self.window.size_s,
                "window_start": self.window.start,
                "window_end": self.window.end,
                "segment": self.segment,
                "horizon": format_duration(self.horizon_s),
                "judged_at": self.judged_at,
                "insufficient": self.result.insufficient,
                "accuracy": None if self.result.insufficient else self.result.value,
                "p_value": self.result.p_value,
                "severity": self.severity,
                "events": [f"{e.kind}:{e.alert_id}" for e in self.events],
            }
        )


def rejudge_window(
    session: Session,
    *,
    settings: Settings,
    window: Window,
    segment: str,
    horizon_s: int,
    judged_at: datetime,
) -> RejudgeReport:
    """Judge the window again on the labels known now; store the row, open an alert if wrong."""
    inputs = load_inputs(session, settings=settings, window=window, segment=segment)
    result, alpha = _judge(inputs)
    severity = _severity(result, alpha)
    report = RejudgeReport(window, segment, horizon_s, judged_at, result, severity)
    details: dict[str, Any] = {
        "horizon_s": horizon_s,
        "judged_at": judged_at.isoformat(),
        "alpha": alpha,
    }
    if severity != "none":
        event = _open_alert(session, report, inputs, alpha)
        report.events = [event] if event else []
        if event is not None:
            details["alert_id"] = str(event.alert_id)
    stored = signal_row(window, segment, result, "decrease")
    stored["signal"] = horizon_signal(horizon_s)
    stored["details"] = {**stored["details"], **jsonable(details)}
    repository.upsert_signal_values(session, [stored])
    return report


def _judge(inputs: WindowInputs) -> tuple[SignalResult, float | None]:
    spec = get_signal(NAME)
    if inputs.reason is not None or inputs.current is None or inputs.ref_data is None:
        return _unjudged(inputs), None
    assert inputs.budget is not None
    alpha = inputs.budget.late_label_alpha
    result = spec(inputs.ref_data.sample, inputs.current.sample)
    if result.insufficient or result.p_value is None:
        return result, alpha
    result.threshold = alarm_accuracy(result, alpha)
    result.drifted = result.p_value <= alpha
    return result, alpha


def _unjudged(inputs: WindowInputs) -> SignalResult:
    return SignalResult(
        name=NAME,
        value=math.nan,
        p_value=None,
        n_reference=inputs.n_reference,
        n_current=inputs.n,
        insufficient=True,
        details={"reason": inputs.reason or "not judged"},
    )


def _severity(result: SignalResult, alpha: float | None) -> str:
    if not result.drifted or alpha is None or result.p_value is None:
        return "none"
    return "critical" if result.p_value <= alpha / CRITICAL_FACTOR else "warning"


def _open_alert(
    session: Session, report: RejudgeReport, inputs: WindowInputs, alpha: float | None
) -> AlertEvent | None:
    window, segment = report.window, report.segment
    repository.lock(session, f"monitor:late:{segment}:{window.size_s}:{window.end.isoformat()}")
    existing = alerts.late_label_alert(
        session, segment=segment, window_size_s=window.size_s, window_end=window.end
    )
    if existing is not None:
        return None
    p = max(report.result.p_value or 1.0, 1e-300)
    alert = alerts.add_alert(
        session,
        rule=alerts.LATE_LABEL_RULE,
        segment=segment,
        window_size_s=window.size_s,
        status="open",
        severity=report.severity,
        score=-math.log(p),
        threshold=-math.log(alpha) if alpha else 0.0,
        opened_at=report.judged_at,
        updated_at=report.judged_at,
        last_window_end=window.end,
        clean_windows=0,
        evidence=evidence_document(report, inputs, alpha),
        explanation={"summary": summary_line(report)},
        actions={},
    )
    alert_lifecycle.audit(session, alert, "alert.open", window)
    return AlertEvent(alert.id, "opened", alert.severity)


def evidence_document(
    report: RejudgeReport, inputs: WindowInputs, alpha: float | None
) -> dict[str, Any]:
    """The late-label alert's evidence: which window, when it was judged, what the labels say."""
    r = report.result
    reference = inputs.reference
    return jsonable(
        {
            "window": {
                "size_s": report.window.size_s,
                "start": report.window.start,
                "end": report.window.end,
            },
            "horizon": format_duration(report.horizon_s),
            "horizon_s": report.horizon_s,
            "judged_at": report.judged_at,
            "signal": horizon_signal(report.horizon_s),
            "accuracy": r.value,
            "threshold": r.threshold,
            "p_value": r.p_value,
            "alpha": alpha,
            "n": r.n_current,
            "n_reference": r.n_reference,
            "reference": None
            if reference is None
            else {"id": reference.id, "kind": reference.kind, "ends_at": reference.ends_at},
            "label_accuracy": r.details,
        }
    )


def summary_line(report: RejudgeReport) -> str:
    """One line: the window, the horizon, the accuracy against the reference's."""
    d, w = report.result.details, report.window
    low, high = d.get("ci95", [math.nan, math.nan])
    return (
        f"Labels that arrived after the {format_duration(w.size_s)} window "
        f"{w.start.isoformat()} to {w.end.isoformat()} closed put its accuracy at "
        f"{report.result.value:.1%} (95% CI {low:.1%}-{high:.1%}; {d.get('labelled')} labels, "
        f"{d.get('coverage', 0.0):.0%} of the window covered) against the reference's "
        f"{d.get('reference_accuracy', math.nan):.1%}; judged "
        f"{format_duration(report.horizon_s)} after it closed (p = {report.result.p_value:.2g})."
    )
