"""The replay's handle on the real monitor: its service, on the replay's database.

Each window is computed by ``monitor.services.compute.compute_window`` (what the
``monitor.compute_window`` task and ``ticketwatch monitor run --window 1h --at TIME`` call) in
its own committed transaction, for segment ``all``; the verdict is then read back from
``signal_values`` and ``alerts``. Then, as the live monitor would, every other stream that
closes with it: each segment seen, at each configured window size whose window ends in it
(``every_stream``), and every past window whose late-label horizon
(``monitor_label_horizons``) falls in it, re-judged on the labels known by then by
``monitor.services.late_labels.rejudge_window`` (what the ``monitor.rejudge_window`` task
calls), so the report counts every alert the deployment would have raised, late-label alerts
included. The
reference is set by the monitor's own rebaseline, and the arrays the peers judge are loaded by
the monitor's own window and reference queries, so every detector sees the same tickets.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from agent.config import Settings
from agent.db import make_engine, session_scope
from agent.services.operators import Actor
from evals.replay import readback
from evals.replay.stream import WindowSpec
from evals.replay.verdicts import CompositeVerdict, StreamVerdict, WindowArrays
from monitor.services import compute, late_labels
from monitor.stats.budget import stream_budget
from monitor.stats.samples import WindowData, class_names, traffic_window
from monitor.stats.windows import (
    ALL,
    Window,
    format_duration,
    parse_duration,
    parse_horizons,
    parse_segment_kinds,
    parse_window_sizes,
    windows_between,
)
from monitor.storage import references, repository

ACTOR = Actor("replay", "operator")


class ServiceMonitor:
    """:class:`evals.replay.verdicts.MonitorPort` over the monitor's service."""

    def __init__(
        self,
        settings: Settings,
        *,
        window: timedelta,
        segment: str = ALL,
        every_stream: bool = True,
    ) -> None:
        url = settings.database_url.get_secret_value() if settings.database_url else None
        if url is None:
            raise ValueError("the replay's settings must name its database")
        self._settings = settings
        self._engine = make_engine(url, settings, application_name="ticketwatch-replay-monitor")
        self._sessions = sessionmaker(bind=self._engine, expire_on_commit=False)
        self._size_s = int(window.total_seconds())
        self._segment = segment
        self._reference_end: datetime | None = None
        configured = set(parse_window_sizes(settings.monitor_window_sizes))
        self._sizes = sorted(configured | {self._size_s}) if every_stream else [self._size_s]
        self._every_stream = every_stream
        self._horizons = parse_horizons(settings.monitor_label_horizons) if every_stream else []
        self._grace = timedelta(seconds=settings.monitor_window_grace_s)
        # the peers judge at the rate of the composite's segment `all` at the replay's size
        self._alpha = stream_budget(
            segment=ALL,
            window_size_s=self._size_s,
            window_sizes=configured,
            kinds=parse_segment_kinds(settings.monitor_segments),
            volume=1.0,
            period=parse_duration(settings.monitor_false_alarm_period),
        ).window_alpha

    @property
    def alpha(self) -> float:
        return self._alpha

    def close(self) -> None:
        self._engine.dispose()

    def rebaseline(self, *, start: datetime, end: datetime) -> None:
        with session_scope(self._sessions) as session:
            version = repository.production_version(session)
            if version is None:
                raise RuntimeError("no production version to rebaseline")
            references.rebaseline(
                session,
                settings=self._settings,
                version=version,
                start=start,
                end=end,
                actor=ACTOR,
                note="replay: the scenario's reference period",
            )
        references.clear_cache()
        self._reference_end = end

    def compute(self, window: WindowSpec) -> CompositeVerdict:
        t0 = time.perf_counter()
        spec = Window(self._size_s, window.end)
        with session_scope(self._sessions) as session:
            report = compute.compute_window(
                session, settings=self._settings, window=spec, segment=self._segment
            )
        seconds = time.perf_counter() - t0
        with session_scope(self._sessions) as session:
            rows = readback.signal_rows(
                session, window_size_s=self._size_s, window_end=window.end, segment=self._segment
            )
            is_open = readback.alert_open(
                session, segment=self._segment, window_size_s=self._size_s
            )
        events = [f"{e.kind}:{e.severity}" for e in report.events]
        verdict = _verdict(rows, is_open, events, report.reason, seconds)
        main = _stream(report, is_open)
        others = self._other_streams(window) if self._every_stream else []
        return replace(verdict, streams=[main, *others, *self._rejudged(window)])

    def _rejudged(self, window: WindowSpec) -> list[StreamVerdict]:
        """Every past window whose horizon came due within the replay's window (its end plus
        the grace plus the horizon), re-judged on the labels known at that moment, for each
        segment that was judged at its close: as ``monitor.schedule_rejudgements`` does."""
        out = []
        for horizon_s in self._horizons:
            horizon = timedelta(seconds=horizon_s)
            for size in self._sizes:
                due_from = window.start - self._grace - horizon
                due_to = window.end - self._grace - horizon
                for spec in windows_between(size, due_from, due_to):
                    judged_at = spec.end + self._grace + horizon
                    with session_scope(self._sessions) as session:
                        segments = compute.judged_segments(session, window=spec)
                    for segment in segments:
                        with session_scope(self._sessions) as session:
                            report = late_labels.rejudge_window(
                                session,
                                settings=self._settings,
                                window=spec,
                                segment=segment,
                                horizon_s=horizon_s,
                                judged_at=judged_at,
                            )
                        with session_scope(self._sessions) as session:
                            is_open = readback.alert_open(
                                session, segment=segment, window_size_s=size
                            )
                        out.append(
                            StreamVerdict(
                                segment=segment,
                                window_size_s=size,
                                window_end=spec.end.isoformat(),
                                severity=report.severity,
                                insufficient=report.result.insufficient,
                                opened=any(e.kind == "opened" for e in report.events),
                                alert_open=is_open,
                                horizon=format_duration(horizon_s),
                            )
                        )
        return out

    def _other_streams(self, window: WindowSpec) -> list[StreamVerdict]:
        """Every other stream whose window closes within the replay's window."""
        out = []
        for size in self._sizes:
            for spec in windows_between(size, window.start, window.end):
                with session_scope(self._sessions) as session:
                    segments = compute.segments_of(session, settings=self._settings, window=spec)
                for segment in segments:
                    if (size, segment) == (self._size_s, self._segment):
                        continue
                    with session_scope(self._sessions) as session:
                        report = compute.compute_window(
                            session, settings=self._settings, window=spec, segment=segment
                        )
                    with session_scope(self._sessions) as session:
                        is_open = readback.alert_open(session, segment=segment, window_size_s=size)
                    out.append(_stream(report, is_open))
        return out

    def reference_arrays(self) -> WindowArrays:
        if self._reference_end is None:
            raise RuntimeError("rebaseline first: the replay sets the reference")
        with session_scope(self._sessions) as session:
            version, classes = self._version(session)
            reference = references.resolve_reference(
                session, settings=self._settings, version=version, at=self._reference_end
            )
            if reference is None:
                raise RuntimeError("the monitor has no reference")
            data = references.reference_data(
                session,
                reference,
                segment=self._segment,
                classes=classes,
                limit=self._settings.monitor_reference_max_tickets,
            )
        return _arrays(data)

    def window_arrays(self, window: WindowSpec) -> WindowArrays:
        with session_scope(self._sessions) as session:
            _, classes = self._version(session)
            rows = repository.window_rows(
                session,
                start=window.start,
                end=window.end,
                segment=self._segment,
                limit=self._settings.monitor_window_max_tickets,
            )
        return _arrays(traffic_window(rows, classes))

    def _version(self, session: Session) -> tuple[Any, tuple[str, ...]]:
        version = repository.production_version(session)
        if version is None:
            raise RuntimeError("no production version")
        return version, class_names(version.queues)


def _stream(report: compute.WindowReport, is_open: bool) -> StreamVerdict:
    return StreamVerdict(
        segment=report.segment,
        window_size_s=report.window.size_s,
        window_end=report.window.end.isoformat(),
        severity=report.severity,
        insufficient=report.insufficient,
        opened=any(e.kind == "opened" for e in report.events),
        alert_open=is_open,
    )


def _arrays(data: WindowData) -> WindowArrays:
    sample = data.sample
    assert sample.queue_probs is not None and sample.embeddings is not None
    return WindowArrays(np.asarray(sample.queue_probs), np.asarray(sample.embeddings))


def _verdict(
    rows: dict[str, Any], is_open: bool, events: list[str], reason: str | None, seconds: float
) -> CompositeVerdict:
    evidence = rows.pop(readback.EVIDENCE, None)
    details = evidence.details if evidence is not None else {}
    insufficient = evidence is None or evidence.insufficient
    return CompositeVerdict(
        severity=str(details.get("severity", "none")),
        score=None if evidence is None else evidence.value,
        warning_threshold=None if evidence is None else evidence.threshold,
        critical_threshold=details.get("critical_threshold"),
        alert_open=is_open,
        events=events,
        what_moved=details.get("what_moved"),
        summary=details.get("summary"),
        top_signals=list(details.get("top", [])),
        signals={name: readback.point(row) for name, row in rows.items()},
        insufficient=insufficient,
        reason=reason or (details.get("reason") if insufficient else None),
        seconds=seconds,
    )
