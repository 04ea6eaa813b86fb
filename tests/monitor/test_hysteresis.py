from __future__ import annotations

import pytest

from monitor.stats.hysteresis import Action, AlertState, Severity, step


def run(severities: list[Severity], **kwargs: int) -> tuple[list[Action], AlertState]:
    state = AlertState()
    actions: list[Action] = []
    for severity in severities:
        transition = step(state, severity, **kwargs)
        state = transition.state
        actions.append(transition.action)
    return actions, state


def test_quiet_windows_do_nothing() -> None:
    actions, state = run(["none"] * 5)
    assert actions == ["none"] * 5
    assert state == AlertState()


def test_a_warning_opens_and_a_critical_escalates() -> None:
    actions, state = run(["warning", "critical"])
    assert actions == ["open", "escalate"]
    assert state.status == "open" and state.severity == "critical"


def test_an_open_alert_does_not_step_down() -> None:
    actions, state = run(["critical", "warning", "warning"])
    assert actions == ["open", "stay", "stay"]
    assert state.severity == "critical"


def test_clears_only_after_m_consecutive_clean_windows() -> None:
    actions, state = run(["warning", "none", "none", "none"], clear_after=3)
    assert actions == ["open", "stay", "stay", "clear"]
    assert state == AlertState()


def test_a_dirty_window_resets_the_clean_count_so_it_does_not_flap() -> None:
    flapping: list[Severity] = ["warning", "none", "none", "warning", "none", "none", "warning"]
    actions, state = run(flapping, clear_after=3)
    assert actions.count("open") == 1
    assert "clear" not in actions
    assert state.status == "open"
    assert state.windows_open == 7


def test_open_after_requires_consecutive_warnings_but_critical_opens_at_once() -> None:
    actions, _ = run(["warning", "none", "warning", "warning"], open_after=2)
    assert actions == ["none", "none", "none", "open"]
    actions, _ = run(["critical"], open_after=5)
    assert actions == ["open"]


def test_after_clearing_a_new_problem_opens_a_new_alert() -> None:
    actions, _ = run(["critical", "none", "none", "warning"], clear_after=2)
    assert actions == ["open", "stay", "clear", "open"]


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError):
        step(AlertState(), "none", clear_after=0)
