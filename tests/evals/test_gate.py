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


def selective(recall: float = 0.8, routed_acc: float = 0.95, routed: int = 250) -> dict[str, Any]:
    """Scores of a run on a set with cases whose right route is a person."""
    base = scores()
    base["queue"]["routed_accuracy"] = routed_acc
    return {**base, "routed_runs": routed, "escalation": {"recall": recall, "positives": 60}}


def with_persons(**overrides: tuple[int, float, float]) -> dict[str, Any]:
    segs = segments(**overrides)
    segs["queue:human_triage"] = {"n": 40, "queue_accuracy": 0.8, "coverage": 0.2}
    return segs


def selective_gate(cand: dict[str, Any], base: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    return compare(
        candidate=cand,
        candidate_segments=with_persons(),
        baseline=base or selective(),
        baseline_segments=with_persons(),
        policy=POLICY,
    )


def test_a_drop_in_escalation_recall_fails_the_gate() -> None:
    result = selective_gate(selective(recall=0.8 * 0.96))
    assert not result.passed
    [row] = result.failures
    assert (row.segment, row.metric, row.n) == ("all", "escalation.recall", 40)
    assert row.relative_drop == pytest.approx(0.04)
    assert selective_gate(selective(recall=0.8 * 0.975)).passed
    assert selective_gate(selective(recall=0.95)).passed  # catching more is no regression


def test_a_drop_in_auto_routed_accuracy_fails_the_gate() -> None:
    result = selective_gate(selective(routed_acc=0.95 * 0.95))
    assert [(r.segment, r.metric) for r in result.failures] == [("all", "queue.routed_accuracy")]
    assert not result.skipped.keys() & {"all escalation.recall", "all queue.routed_accuracy"}


def test_rows_without_support_in_the_baseline_are_skipped_with_the_reason() -> None:
    # No person's case in the set; a baseline that routed nothing (everything to people).
    result = compare(
        candidate=selective(recall=0.0, routed_acc=0.1),
        candidate_segments=segments(),
        baseline=selective(routed=0),
        baseline_segments=segments(),
        policy=POLICY,
    )
    assert result.passed
    assert "no case whose route is human_triage" in result.skipped["all escalation.recall"]
    assert "routed none" in result.skipped["all queue.routed_accuracy"]
    metrics = {r.metric for r in result.rows}
    assert not metrics & {"escalation.recall", "queue.routed_accuracy"}


def test_the_persons_segment_is_gated_on_queue_accuracy_only() -> None:
    result = selective_gate(selective())
    assert ("queue:human_triage", "queue_accuracy") in {(r.segment, r.metric) for r in result.rows}
    assert "queue:human_triage priority_accuracy" in result.skipped
