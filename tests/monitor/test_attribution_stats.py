"""The attribution's verdict: an exact McNemar test on the discordant pairs, known values;
and a replay cut short (the shadow budget spent) judged on what it replayed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from agent.config import Settings
from monitor.services.attribution import Inputs, Replay, ReplayStopped, judge
from monitor.stats.attribution import attribute, mcnemar_exact
from monitor.stats.windows import Window
from monitor.storage.attribution import LabelledDecision


def pairs(both: int, only_current: int, only_previous: int, neither: int) -> tuple[list, list]:
    current = [True] * both + [True] * only_current + [False] * only_previous + [False] * neither
    previous = [True] * both + [False] * only_current + [True] * only_previous + [False] * neither
    return current, previous


def test_mcnemar_exact_matches_the_binomial_tails() -> None:
    assert mcnemar_exact(0, 10) == pytest.approx(2 * 0.5**10)
    assert mcnemar_exact(3, 7) == pytest.approx(352 / 1024)  # 2 * (1 + 10 + 45 + 120) / 2^10
    assert mcnemar_exact(5, 5) == pytest.approx(1.0)
    assert mcnemar_exact(0, 0) == 1.0


def test_previous_version_right_where_the_current_is_wrong_is_a_regressed_change() -> None:
    current, previous = pairs(both=20, only_current=0, only_previous=10, neither=10)
    result = attribute(current, previous)
    assert result.verdict == "change_regressed"
    assert (result.n, result.current_correct, result.previous_correct) == (40, 20, 30)
    assert result.p_value == pytest.approx(2 * 0.5**10)
    assert result.current_accuracy == pytest.approx(0.5)
    assert result.previous_accuracy == pytest.approx(0.75)
    assert "the change regressed" in result.summary()


def test_both_versions_equally_wrong_is_a_drifted_world() -> None:
    current, previous = pairs(both=10, only_current=3, only_previous=7, neither=20)
    result = attribute(current, previous)
    assert result.verdict == "world_drifted"
    assert result.p_value == pytest.approx(352 / 1024)
    assert "the world drifted" in result.summary()


def test_a_current_version_better_than_the_previous_is_not_a_regression() -> None:
    current, previous = pairs(both=10, only_current=10, only_previous=0, neither=10)
    result = attribute(current, previous)
    assert result.verdict == "world_drifted" and result.p_value == pytest.approx(2 * 0.5**10)


def test_the_level_decides_a_borderline_difference() -> None:
    current, previous = pairs(both=10, only_current=1, only_previous=8, neither=10)
    p = 2 * (1 + 9) / 2**9  # P(X <= 1) + P(X >= 8), X ~ Binomial(9, 1/2)
    assert attribute(current, previous).p_value == pytest.approx(p)
    assert attribute(current, previous, alpha=0.05).verdict == "change_regressed"
    assert attribute(current, previous, alpha=0.01).verdict == "world_drifted"


def test_fewer_labelled_tickets_than_the_minimum_are_insufficient() -> None:
    current, previous = pairs(both=0, only_current=0, only_previous=19, neither=0)
    result = attribute(current, previous, min_labelled=20)
    assert result.verdict == "insufficient" and result.n == 19 and result.p_value is None
    assert "19 labelled tickets" in result.summary()


def test_unpaired_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        attribute([True], [True, False])


def _inputs(n: int) -> Inputs:
    rows = [LabelledDecision(uuid.uuid4(), "cards", "cards") for _ in range(n)]
    return Inputs(
        Window(3600, datetime(2026, 12, 7, tzinfo=UTC)), "1.1.0", uuid.uuid4(), "1.0.0", rows
    )


def _replay_until(limit: int) -> Replay:
    calls = 0

    def replay(ticket_id: uuid.UUID, version_id: uuid.UUID) -> str | None:
        nonlocal calls
        calls += 1
        if calls > limit:
            raise ReplayStopped("the shadow budget of version v is spent")
        return "transfers"  # the previous version wrong where the current is right

    return replay


def test_a_replay_stopped_by_the_budget_is_judged_on_the_tickets_replayed_before() -> None:
    settings = Settings(monitor_attribution_min_labelled=20)
    doc = judge(_inputs(60), settings=settings, replay=_replay_until(30))
    assert doc["n"] == 30 and doc["only_current"] == 30
    assert doc["verdict"] == "world_drifted"  # the previous version is worse, not better
    assert "replay stopped early: the shadow budget" in doc["summary"]
    doc = judge(_inputs(60), settings=settings, replay=_replay_until(5))
    assert doc["verdict"] == "insufficient" and doc["n"] == 5
    assert doc["summary"].startswith("5 labelled tickets replayed before the replay stopped")
