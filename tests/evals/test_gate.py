"""The gate's rule on hand-made scores (no database)."""

from __future__ import annotations

from typing import Any

import pytest

from evals.gate import GatePolicy, compare, relative_drop

POLICY = GatePolicy(max_relative_drop=0.03, min_segment_cases=30)


def scores(
    queue_acc: float = 0.9, queue_f1: float = 0.88, prio_acc: float = 0.8, n: int = 300
) -> dict[str, Any]:
    return {
        "n_cases": n,
        "queue": {"accuracy": queue_acc, "macro_f1": queue_f1},
        "priority": {"accuracy": prio_acc},
    }


def segments(**overrides: tuple[int, float, float]) -> dict[str, Any]:
    base = {
        "queue:cards": (100, 0.9, 0.8),
        "queue:fees": (40, 0.8, 0.7),
        "queue:rare": (10, 0.9, 0.9),
    }
    base.update(overrides)
    return {
        k: {"n": n, "queue_accuracy": q, "priority_accuracy": p, "coverage": 1.0}
        for k, (n, q, p) in base.items()
    }


def gate(cand: dict[str, Any], cand_segs: dict[str, Any], policy: GatePolicy = POLICY):  # type: ignore[no-untyped-def]
    return compare(
        candidate=cand,
        candidate_segments=cand_segs,
        baseline=scores(),
        baseline_segments=segments(),
        policy=policy,
    )


def test_equal_scores_pass_and_every_large_segment_is_checked() -> None:
    result = gate(scores(), segments())
    assert result.passed
    checked = {(r.segment, r.metric) for r in result.rows}
    assert ("all", "queue.accuracy") in checked and ("all", "queue.macro_f1") in checked
    assert ("all", "priority.accuracy") in checked
    assert ("queue:fees", "priority_accuracy") in checked
    assert result.small_segments == {"queue:rare": 10}
    assert len(result.rows) == 3 + 2 * 2


def test_more_than_three_percent_below_overall_fails() -> None:
    result = gate(scores(queue_acc=0.9 * 0.969), segments())
    assert not result.passed
    [row] = result.failures
    assert (row.segment, row.metric) == ("all", "queue.accuracy")
    assert row.relative_drop == pytest.approx(0.031)


def test_exactly_three_percent_below_passes() -> None:
    assert gate(scores(queue_f1=0.88 * 0.97), segments()).passed


def test_a_regression_in_one_large_segment_fails_even_when_overall_holds() -> None:
    result = gate(scores(queue_acc=0.91), segments(**{"queue:fees": (40, 0.7, 0.7)}))
    assert [(r.segment, r.metric) for r in result.failures] == [("queue:fees", "queue_accuracy")]


def test_small_segments_are_not_gated_on_their_own() -> None:
    assert gate(scores(), segments(**{"queue:rare": (10, 0.1, 0.1)})).passed
    strict = GatePolicy(max_relative_drop=0.03, min_segment_cases=5)
    assert not gate(scores(), segments(**{"queue:rare": (10, 0.1, 0.1)}), strict).passed


def test_improvements_pass_and_a_zero_baseline_cannot_drop() -> None:
    assert gate(scores(queue_acc=0.99, prio_acc=0.95), segments()).passed
    assert relative_drop(0.0, 0.0) == 0.0
    assert relative_drop(0.5, 0.6) == pytest.approx(-0.2)
