"""A stream's share of the deployment's false-alarm budget, and its sequential evidence.

A stream is one (segment, window size). Its budget (:mod:`monitor.stats.budget`) sets the
window layer's false-alarm rate and the sequential layer's threshold; the sequential state
(:mod:`monitor.stats.sequential`) lives in the stream's ``evidence_sequential`` rows of
``signal_values``: each window's row holds the CUSUM after it, and the next window starts
from the latest sufficient row before it (a recomputed window reads the same row and writes
the same values). A row written against another reference does not carry over: a new
reference starts a fresh CUSUM.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from agent.config import Settings
from monitor.stats.budget import StreamBudget, deployment_budget, stream_budget
from monitor.stats.evidence import Evidence
from monitor.stats.jsonable import jsonable
from monitor.stats.samples import WindowData
from monitor.stats.sequential import CusumState, TracksStep, reference_allowance, step_tracks
from monitor.stats.windows import (
    ALL,
    Window,
    parse_duration,
    parse_horizons,
    parse_segment_kinds,
    parse_window_sizes,
)
from monitor.storage import repository

SEQUENTIAL = "evidence_sequential"


def tracks_of(settings: Settings) -> int:
    """The sequential tracks of a stream: the whole evidence and each of its signal groups."""
    groups = {g.strip() for g in settings.monitor_evidence_groups.split(",") if g.strip()}
    return 1 + len(groups)


def budget_of(
    settings: Settings, *, window: Window, segment: str, reference_all: WindowData | None
) -> StreamBudget:
    """The stream's budget; a segment's volume is its share of the reference's tickets."""
    volume = 1.0
    if segment != ALL:
        counts = reference_all.segment_counts() if reference_all is not None else {}
        n = reference_all.n if reference_all is not None else 0
        volume = counts.get(segment, 0) / n if n else 0.0
    return stream_budget(
        segment=segment,
        window_size_s=window.size_s,
        window_sizes=parse_window_sizes(settings.monitor_window_sizes),
        kinds=parse_segment_kinds(settings.monitor_segments),
        volume=volume,
        period=parse_duration(settings.monitor_false_alarm_period),
        tracks=tracks_of(settings),
        horizons=len(parse_horizons(settings.monitor_label_horizons)),
    )


def deployment_budget_of(
    settings: Settings, reference_all: WindowData | None
) -> list[StreamBudget]:
    """Every stream's budget for the reference's segments (what the dashboard shows)."""
    counts = reference_all.segment_counts() if reference_all is not None else {}
    n = reference_all.n if reference_all is not None else 0
    return deployment_budget(
        volumes={segment: count / n for segment, count in counts.items()} if n else {},
        window_sizes=parse_window_sizes(settings.monitor_window_sizes),
        kinds=parse_segment_kinds(settings.monitor_segments),
        period=parse_duration(settings.monitor_false_alarm_period),
        tracks=tracks_of(settings),
        horizons=len(parse_horizons(settings.monitor_label_horizons)),
    )


def advance(
    session: Session,
    *,
    window: Window,
    segment: str,
    evidence: Evidence,
    reference_id: uuid.UUID,
    budget: StreamBudget,
    n: int,
    n_reference: int,
) -> TracksStep:
    """The stream's CUSUMs after this window (from the latest row before it), each step giving
    up the allowance for the reference's sampling error at this window's and the reference's
    sizes."""
    previous = repository.previous_signal_row(
        session, signal=SEQUENTIAL, segment=segment, window_size_s=window.size_s, before=window.end
    )
    states: dict[str, CusumState] = {}
    if previous is not None:
        details = previous.details or {}
        if details.get("reference_id") == str(reference_id):
            states = {
                name: CusumState(float(t["state"]), bool(t["episode"]))
                for name, t in details.get("tracks", {}).items()
            }
    p_values = evidence.sequential_p_values()
    allowance = reference_allowance(n, n_reference, budget.reference_tail)
    return step_tracks(states, p_values, threshold=budget.sequential_threshold, allowance=allowance)


def sequential_row(
    window: Window,
    segment: str,
    cusum: TracksStep,
    *,
    n: int,
    n_reference: int,
    reference_id: uuid.UUID,
    budget: StreamBudget,
    p_value: float,
) -> dict[str, Any]:
    """The ``evidence_sequential`` row of a window: the largest track's CUSUM (before any
    reset), the tracks' threshold, the whole sum's p-value, and each track's state."""
    return {
        "window_size_s": window.size_s,
        "window_start": window.start,
        "window_end": window.end,
        "segment": segment,
        "signal": SEQUENTIAL,
        "value": cusum.statistic,
        "threshold": budget.sequential_threshold,
        "p_value": p_value,
        "n": n,
        "n_reference": n_reference,
        "drifted": cusum.holds_alert,
        "insufficient": False,
        "details": jsonable(
            {
                "direction": "increase",
                "alarm": cusum.alarm,
                "holds_alert": cusum.holds_alert,
                "alarmed": sorted(name for name, t in cusum.steps.items() if t.alarm),
                "tracks": {
                    name: {
                        "statistic": t.statistic,
                        "state": t.state.statistic,
                        "episode": t.state.episode,
                        "z": t.z if t.z > -1e9 else None,
                        "alarm": t.alarm,
                    }
                    for name, t in cusum.steps.items()
                },
                "reference_id": str(reference_id),
                "sequential_arl": budget.sequential_arl,
                "window_alpha": budget.window_alpha,
                "late_label_alpha": budget.late_label_alpha,
                "reference_tail": budget.reference_tail,
                "allowance": reference_allowance(n, n_reference, budget.reference_tail),
                "budget_share": budget.share,
            }
        ),
    }


def budget_rows(budgets: Sequence[StreamBudget], period: timedelta) -> list[dict[str, Any]]:
    """The budget table as the dashboard shows it: expected false alerts per period."""
    out = []
    for b in budgets:
        windows = period.total_seconds() / b.window_size_s
        out.append(
            {
                **b.as_dict(),
                "window_alerts": b.window_alpha * windows,
                "sequential_alerts": windows / b.sequential_arl if b.sequential_arl else 0.0,
            }
        )
    return out
