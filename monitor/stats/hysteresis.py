"""Alert state machine: open, escalate, stay, clear, without flapping.

An alert opens when a window's severity is critical, or warning for ``open_after`` windows in
a row. While open it escalates to a higher severity at once but never steps down (a warning
window during a critical alert is still trouble), and it clears only after ``clear_after``
consecutive clean windows; any non-clean window resets that count. So a signal hovering
around its threshold holds one alert open instead of opening and closing it each window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Severity = Literal["none", "warning", "critical"]
Action = Literal["open", "escalate", "stay", "clear", "none"]

_RANK: dict[Severity, int] = {"none": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class AlertState:
    """Where one (segment, window size) alert stands after the windows seen so far."""

    status: Literal["clear", "open"] = "clear"
    severity: Severity = "none"
    clean_streak: int = 0
    dirty_streak: int = 0
    windows_open: int = 0


@dataclass(frozen=True, slots=True)
class Transition:
    state: AlertState
    action: Action


def step(
    state: AlertState, severity: Severity, *, clear_after: int = 3, open_after: int = 1
) -> Transition:
    """The next state and the action to take, given the new window's severity."""
    if clear_after < 1 or open_after < 1:
        raise ValueError("clear_after and open_after must be at least 1")
    if state.status == "clear":
        return _step_clear(state, severity, open_after)
    return _step_open(state, severity, clear_after)


def _step_clear(state: AlertState, severity: Severity, open_after: int) -> Transition:
    if severity == "none":
        return Transition(AlertState(), "none")
    dirty = state.dirty_streak + 1
    if severity == "critical" or dirty >= open_after:
        return Transition(AlertState("open", severity, 0, dirty, 1), "open")
    return Transition(replace(state, dirty_streak=dirty), "none")


def _step_open(state: AlertState, severity: Severity, clear_after: int) -> Transition:
    opened = state.windows_open + 1
    if severity == "none":
        clean = state.clean_streak + 1
        if clean >= clear_after:
            return Transition(AlertState(), "clear")
        return Transition(replace(state, clean_streak=clean, windows_open=opened), "stay")
    worse = _RANK[severity] > _RANK[state.severity]
    new = replace(
        state,
        severity=severity if worse else state.severity,
        clean_streak=0,
        dirty_streak=state.dirty_streak + 1,
        windows_open=opened,
    )
    return Transition(new, "escalate" if worse else "stay")
