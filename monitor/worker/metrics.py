"""Prometheus gauges of the monitor, served by ``ticketwatch worker`` (one process, threads).

Each computed window sets its signals' values and thresholds per (signal, segment, window);
Prometheus scrapes the worker (compose: ``worker:9808``).
"""

from __future__ import annotations

import math

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from monitor.services.compute import WindowReport
from monitor.services.late_labels import RejudgeReport, horizon_signal
from monitor.stats.windows import format_duration

LABELS = ["signal", "segment", "window"]
SIGNAL_VALUE = Gauge(
    "ticketwatch_monitor_signal_value", "A signal's value on the latest window.", LABELS
)
SIGNAL_THRESHOLD = Gauge(
    "ticketwatch_monitor_signal_threshold", "A signal's calibrated threshold.", LABELS
)
SIGNAL_DRIFTED = Gauge(
    "ticketwatch_monitor_signal_drifted", "1 when the latest window crossed the threshold.", LABELS
)
EVIDENCE = Gauge(
    "ticketwatch_monitor_evidence_score",
    "Combined evidence of the latest window.",
    ["segment", "window"],
)
SEVERITY = Gauge(
    "ticketwatch_monitor_severity",
    "Severity of the latest window: 0 none, 1 warning, 2 critical.",
    ["segment", "window"],
)
WINDOW_TICKETS = Gauge(
    "ticketwatch_monitor_window_tickets", "Tickets in the latest window.", ["segment", "window"]
)
WINDOWS = Counter(
    "ticketwatch_monitor_windows_total",
    "Windows computed or re-judged on late labels, by outcome (ok, insufficient, rejudged, "
    "rejudged_insufficient).",
    ["window", "outcome"],
)
COMPUTE_SECONDS = Histogram(
    "ticketwatch_monitor_window_seconds",
    "Time to compute one window of one segment.",
    ["window"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
ALERT_EVENTS = Counter(
    "ticketwatch_monitor_alert_events_total", "Alert events, by kind.", ["kind", "severity"]
)
WEBHOOK_ATTEMPTS = Counter(
    "ticketwatch_monitor_webhook_attempts_total", "Webhook attempts, by outcome.", ["outcome"]
)
_RANK = {"none": 0, "warning": 1, "critical": 2}


def observe(report: WindowReport) -> None:
    """Export one computed window."""
    window = format_duration(report.window.size_s)
    WINDOWS.labels(window, "insufficient" if report.insufficient else "ok").inc()
    COMPUTE_SECONDS.labels(window).observe(report.seconds)
    WINDOW_TICKETS.labels(report.segment, window).set(report.n)
    if report.insufficient:
        return
    EVIDENCE.labels(report.segment, window).set(report.score or 0.0)
    SEVERITY.labels(report.segment, window).set(_RANK.get(report.severity, 0))
    for r in report.results:
        labels = (r.name, report.segment, window)
        SIGNAL_VALUE.labels(*labels).set(r.value if math.isfinite(r.value) else math.nan)
        SIGNAL_THRESHOLD.labels(*labels).set(math.nan if r.threshold is None else r.threshold)
        SIGNAL_DRIFTED.labels(*labels).set(1.0 if r.drifted else 0.0)
    for event in report.events:
        ALERT_EVENTS.labels(event.kind, event.severity).inc()


def observe_rejudgement(report: RejudgeReport) -> None:
    """Export one re-judgement on late labels (its signal named with its horizon)."""
    window = format_duration(report.window.size_s)
    r = report.result
    WINDOWS.labels(window, "rejudged_insufficient" if r.insufficient else "rejudged").inc()
    if not r.insufficient:
        labels = (horizon_signal(report.horizon_s), report.segment, window)
        SIGNAL_VALUE.labels(*labels).set(r.value)
        SIGNAL_THRESHOLD.labels(*labels).set(math.nan if r.threshold is None else r.threshold)
        SIGNAL_DRIFTED.labels(*labels).set(1.0 if r.drifted else 0.0)
    for event in report.events:
        ALERT_EVENTS.labels(event.kind, event.severity).inc()


def serve(port: int) -> None:
    """Serve /metrics on ``port`` (0: do not serve)."""
    if port:
        start_http_server(port)
