"""Compute one window for one segment: signals, thresholds, evidence, rows, alert state.

The caller owns the transaction (a task or a command); nothing here commits. Every signal is
seeded, so recomputing a window writes the same values into the same rows.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, get_args

from sqlalchemy.orm import Session

from agent.config import Settings
from monitor.services import alert_lifecycle, streams
from monitor.services.alert_lifecycle import AlertEvent
from monitor.services.explain import explain
from monitor.services.window_inputs import load_inputs
from monitor.signals import SignalResult, all_signals
from monitor.signals.base import Group
from monitor.stats.budget import StreamBudget
from monitor.stats.calibration import apply_thresholds
from monitor.stats.evidence import Evidence, combine
from monitor.stats.jsonable import jsonable
from monitor.stats.samples import WindowData
from monitor.stats.windows import Window, segments_to_compute
from monitor.storage import calibration_cache, repository
from monitor.storage.references import Reference

EVIDENCE = "evidence"


@dataclass
class WindowReport:
    """What computing a window found (also what the CLI prints and the metrics export)."""

    window: Window
    segment: str
    n: int
    insufficient: bool
    reason: str | None = None
    severity: str = "none"
    score: float | None = None
    threshold: float | None = None
    results: list[SignalResult] = field(default_factory=list)
    events: list[AlertEvent] = field(default_factory=list)
    reference_id: uuid.UUID | None = None
    calibration_cached: bool | None = None
    sequential: dict[str, Any] | None = None
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return jsonable(
            {
                "window_size_s": self.window.size_s,
                "window_end": self.window.end,
                "segment": self.segment,
                "n": self.n,
                "insufficient": self.insufficient,
                "reason": self.reason,
                "severity": self.severity,
                "score": self.score,
                "threshold": self.threshold,
                "drifted": [r.name for r in self.results if r.drifted],
                "events": [f"{e.kind}:{e.alert_id}" for e in self.events],
                "sequential": self.sequential,
                "seconds": round(self.seconds, 3),
            }
        )


def compute_window(
    session: Session, *, settings: Settings, window: Window, segment: str
) -> WindowReport:
    """Compute, store and act on one window of one segment."""
    started = time.perf_counter()
    report = _compute(session, settings, window, segment)
    report.seconds = time.perf_counter() - started
    return report


def _compute(session: Session, settings: Settings, window: Window, segment: str) -> WindowReport:
    inputs = load_inputs(session, settings=settings, window=window, segment=segment)
    if inputs.reason is not None:
        return _insufficient(session, window, segment, inputs.n, inputs.n_reference, inputs.reason)
    assert inputs.current is not None and inputs.reference is not None
    assert inputs.ref_data is not None and inputs.budget is not None
    return _judge(
        session,
        settings,
        window,
        segment,
        inputs.current,
        inputs.reference,
        inputs.ref_data,
        inputs.budget,
    )


def _judge(
    session: Session,
    settings: Settings,
    window: Window,
    segment: str,
    current: WindowData,
    reference: Reference,
    ref_data: WindowData,
    budget: StreamBudget,
) -> WindowReport:
    alpha = budget.window_alpha
    calibration, cached = calibration_cache.calibration_for(
        session,
        reference_id=reference.id,
        segment=segment,
        reference=ref_data,
        n_current=current.n,
        alpha=alpha,
        replicates=settings.monitor_calibration_replicates,
    )
    specs = all_signals()
    results = apply_thresholds(
        [spec(ref_data.sample, current.sample) for spec in specs.values()], calibration
    )
    groups = evidence_groups(settings.monitor_evidence_groups)
    evidence = combine([r for r in results if specs[r.name].group in groups], calibration)
    cusum = streams.advance(
        session,
        window=window,
        segment=segment,
        evidence=evidence,
        reference_id=reference.id,
        budget=budget,
        n=current.n,
        n_reference=ref_data.n,
    )
    if cusum.holds_alert and evidence.severity == "none":
        # evidence too weak for one window that has added up: the stream's alert opens (or
        # stays open while the episode's evidence stays positive)
        evidence = replace(evidence, severity="warning")
    rows = [signal_row(window, segment, r, specs[r.name].direction) for r in results]
    rows.append(_evidence_row(window, segment, evidence, current.n, ref_data.n))
    seq_row = streams.sequential_row(
        window,
        segment,
        cusum,
        n=current.n,
        n_reference=ref_data.n,
        reference_id=reference.id,
        budget=budget,
        p_value=evidence.sum_tail_prob,
    )
    rows.append(seq_row)
    repository.upsert_signal_values(session, rows)
    ref_doc = {"id": reference.id, "kind": reference.kind, "ends_at": reference.ends_at}
    doc = alert_lifecycle.evidence_document(
        evidence, window=window, n=current.n, n_reference=ref_data.n, reference=ref_doc
    )
    sequential = {"statistic": cusum.statistic, **seq_row["details"]}
    sequential["threshold"] = budget.sequential_threshold
    doc["sequential"] = sequential
    event = alert_lifecycle.advance(
        session,
        window=window,
        segment=segment,
        evidence=evidence,
        evidence_doc=doc,
        explain=lambda: _explanation(session, window, segment, current, ref_data, evidence),
        open_after=settings.monitor_open_after,
        clear_after=settings.monitor_clear_after,
    )
    return WindowReport(
        window,
        segment,
        current.n,
        False,
        severity=evidence.severity,
        score=evidence.score,
        threshold=evidence.warning_threshold,
        results=results,
        events=[event] if event else [],
        reference_id=reference.id,
        calibration_cached=cached,
        sequential=sequential,
    )


def evidence_groups(setting: str) -> set[str]:
    """The signal groups named in ``monitor_evidence_groups`` (unknown names are an error)."""
    groups = {g.strip() for g in setting.split(",") if g.strip()}
    known = set(get_args(Group))
    if not groups <= known:
        raise ValueError(f"unknown signal groups {sorted(groups - known)}; known: {sorted(known)}")
    return groups


def _explanation(
    session: Session,
    window: Window,
    segment: str,
    current: WindowData,
    ref_data: WindowData,
    evidence: Evidence,
) -> dict[str, Any]:
    out = explain(
        session,
        current=current,
        reference=ref_data,
        evidence=evidence,
        window_start=window.start,
    )
    scores = repository.window_evidence_scores(
        session, window_size_s=window.size_s, window_end=window.end
    )
    others = sorted(((s, v) for s, v in scores.items() if s != segment), key=lambda item: -item[1])
    out["segments_by_evidence"] = [{"segment": s, "score": v} for s, v in others[:3]]
    return out


def signal_row(window: Window, segment: str, r: SignalResult, direction: str) -> dict[str, Any]:
    finite = math.isfinite(r.value)
    return {
        "window_size_s": window.size_s,
        "window_start": window.start,
        "window_end": window.end,
        "segment": segment,
        "signal": r.name,
        "value": r.value if finite else None,
        "threshold": _finite(r.threshold),
        "p_value": _finite(r.p_value),
        "n": r.n_current,
        "n_reference": r.n_reference,
        "drifted": r.drifted,
        "insufficient": r.insufficient or not finite,
        "details": jsonable({**r.details, "direction": direction}),
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _evidence_row(
    window: Window, segment: str, evidence: Evidence, n: int, n_reference: int
) -> dict[str, Any]:
    warning = evidence.warning_threshold
    return {
        "window_size_s": window.size_s,
        "window_start": window.start,
        "window_end": window.end,
        "segment": segment,
        "signal": EVIDENCE,
        "value": evidence.score,
        "threshold": _finite(warning),
        "p_value": _finite(evidence.tail_prob),
        "n": n,
        "n_reference": n_reference,
        "drifted": evidence.severity != "none",
        "insufficient": False,
        "details": jsonable(
            {
                "direction": "increase",
                "severity": evidence.severity,
                "critical_threshold": evidence.critical_threshold,
                "what_moved": evidence.what_moved.kind,
                "summary": evidence.what_moved.summary,
                "top": [c.name for c in evidence.contributions[:3] if c.evidence >= 1.0],
            }
        ),
    }


def _insufficient(
    session: Session, window: Window, segment: str, n: int, n_reference: int, reason: str
) -> WindowReport:
    rows = [
        {
            "window_size_s": window.size_s,
            "window_start": window.start,
            "window_end": window.end,
            "segment": segment,
            "signal": name,
            "value": None,
            "threshold": None,
            "p_value": None,
            "n": n,
            "n_reference": n_reference,
            "drifted": None,
            "insufficient": True,
            "details": {"reason": reason, "direction": direction},
        }
        for name, direction in [
            *((s.name, s.direction) for s in all_signals().values()),
            (EVIDENCE, "increase"),
            (streams.SEQUENTIAL, "increase"),
        ]
    ]
    repository.upsert_signal_values(session, rows)
    return WindowReport(window, segment, n, True, reason=reason)


def segments_of(
    session: Session, *, settings: Settings, window: Window, only_with_tickets: bool = False
) -> list[str]:
    """The segments to compute for a window: ``all``, each configured kind's values among
    the window's production decisions, and each candidate stream with decisions in it (none
    at all for a window without tickets if ``only_with_tickets``: a missed window that nothing
    came in has nothing to catch up)."""
    seen = repository.segments_seen(session, start=window.start, end=window.end)
    streams = repository.streams_seen(session, start=window.start, end=window.end)
    if only_with_tickets and not seen and not streams:
        return []
    return segments_to_compute(seen, settings.monitor_segments, streams)


def judged_segments(session: Session, *, window: Window) -> list[str]:
    """The segments of a window that were judged at close with enough tickets."""
    return repository.judged_segments(session, window_size_s=window.size_s, window_end=window.end)


def uncomputed_segments(session: Session, *, settings: Settings, window: Window) -> list[str]:
    """The segments of a window with tickets that have no rows yet."""
    wanted = segments_of(session, settings=settings, window=window, only_with_tickets=True)
    done = repository.computed_segments(session, window_size_s=window.size_s, window_end=window.end)
    return [segment for segment in wanted if segment not in done]
