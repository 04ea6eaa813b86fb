"""Detection delay and false alarms of each detector over a replay's windows. Pure.

A detector *alarms* in a window (the composite: its alert is open after that window; a peer:
it flags the window). For each drift phase, the delay is counted from the phase's first window
(its onset): 1 window when the onset window itself alarms, 2 when the next one does, and so on;
tickets are those that arrived from the onset to the end of the detecting window. *Calm*
windows are those of stationary phases before the first drift onset: an alarm there is a false
alarm (for the composite, each alert *opened* there, in any segment and window size, the
late-label layer's included: a re-judged past window's alert counts in the window in which it
opened).
Stationary windows after a drift are recovery, reported but not counted as false alarms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from evals.replay.kinds import drift_kinds
from evals.replay.stream import REFERENCE, WindowSpec


@dataclass(frozen=True)
class Detection:
    """How one detector did on one drift phase."""

    phase: str
    kind: str
    onset_window: int
    detected_window: int | None
    delay_windows: int | None
    delay_tickets: int | None

    @property
    def missed(self) -> bool:
        return self.detected_window is None


@dataclass(frozen=True)
class DetectorScore:
    """A detector's detections on every drift phase, and its false alarms in calm windows."""

    detector: str
    detections: list[Detection]
    calm_windows: int
    false_alarms: int
    flagged_calm_windows: int
    recovery_alarms: int

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "detections": [asdict(d) for d in self.detections]}


def monitored(windows: Sequence[WindowSpec]) -> list[WindowSpec]:
    """The windows after the reference period, the ones every detector judges."""
    return [w for w in windows if w.phase != REFERENCE]


def onsets(windows: Sequence[WindowSpec]) -> list[WindowSpec]:
    """The first window of each drift phase (its kind registered as a drift)."""
    drifts = set(drift_kinds())
    seen: set[str] = set()
    out = []
    for w in monitored(windows):
        if w.kind in drifts and w.phase not in seen:
            seen.add(w.phase)
            out.append(w)
    return out


def calm_windows(windows: Sequence[WindowSpec]) -> list[WindowSpec]:
    """Calm windows (of a kind that is no drift) before the first drift onset (or all of them
    without a drift)."""
    first = onsets(windows)
    limit = first[0].index if first else None
    drifts = set(drift_kinds())
    return [
        w for w in monitored(windows) if w.kind not in drifts and (limit is None or w.index < limit)
    ]


def score(
    detector: str,
    windows: Sequence[WindowSpec],
    alarms: Mapping[int, bool],
    *,
    opened: Mapping[int, int] | None = None,
) -> DetectorScore:
    """Score one detector. ``alarms[i]``: it alarms in window i; ``opened[i]``: alerts opened
    in window i (the composite only; peers count flagged windows as false alarms)."""
    judged = monitored(windows)
    detections = [_detection(onset, judged, alarms) for onset in onsets(windows)]
    calm = calm_windows(windows)
    flagged = sum(bool(alarms.get(w.index)) for w in calm)
    false_alarms = flagged if opened is None else sum(int(opened.get(w.index, 0)) for w in calm)
    calm_ids = {w.index for w in calm}
    first = onsets(windows)
    drifts = set(drift_kinds())
    recovery = [
        w
        for w in judged
        if w.kind not in drifts and w.index not in calm_ids and first and w.index > first[0].index
    ]
    source: Mapping[int, int] = alarms if opened is None else opened
    return DetectorScore(
        detector,
        detections,
        len(calm),
        false_alarms,
        flagged,
        sum(int(source.get(w.index, 0)) for w in recovery),
    )


def _detection(
    onset: WindowSpec, judged: Sequence[WindowSpec], alarms: Mapping[int, bool]
) -> Detection:
    phase_end = max(w.index for w in judged if w.phase == onset.phase)
    tickets = 0
    for w in judged:
        if w.index < onset.index or w.index > phase_end:
            continue
        tickets += w.n_tickets
        if alarms.get(w.index):
            return Detection(
                onset.phase,
                onset.kind,
                onset.index,
                w.index,
                w.index - onset.index + 1,
                tickets,
            )
    return Detection(onset.phase, onset.kind, onset.index, None, None, None)


def delay_text(detection: Detection) -> str:
    """``"1 window (150 tickets)"``, or ``"missed"``."""
    if detection.delay_windows is None:
        return "missed"
    unit = "window" if detection.delay_windows == 1 else "windows"
    return f"{detection.delay_windows} {unit} ({detection.delay_tickets} tickets)"
