"""Scoring a run from hand-made graph outcomes: how human triage and repeats count."""

from __future__ import annotations

from typing import Any

import pytest

from agent.taxonomy import Taxonomy
from evals.golden.cases import GoldenCase
from evals.harness.runner import CaseRun
from evals.scoring import predictions, score_run, segment_scores

CASES = [
    GoldenCase("a", "card_orders", "P3"),
    GoldenCase("b", "transfers", "P2"),
    GoldenCase("c", "transfers", "P1"),
]


def run(
    case: int,
    n: int,
    routed_to: str,
    queue: str | None,
    priority: str | None,
    conf: float | None = 0.9,
    **kw: Any,
) -> CaseRun:
    values: dict[str, Any] = {
        "case": case,
        "run": n,
        "routed_to": routed_to,
        "mode": "agent" if routed_to != "human_triage" else "low_confidence",
        "queue": queue,
        "priority": priority,
        "confidence": conf,
        "priority_confidence": None if conf is None else 0.8,
        "cost_usd": 0.001,
        "prompt_tokens": 10,
        "completion_tokens": 2,
        "latency_ms": 10.0 * (n + 1),
        "error": None,
        "nearest_distance": 0.2,
    }
    return CaseRun(**{**values, **kw})


RUNS = [
    # case 0: right both times
    run(0, 0, "card_orders", "card_orders", "P3"),
    run(0, 1, "card_orders", "card_orders", "P3"),
    # case 1: right, then handed to humans (the classifier was right but unsure)
    run(1, 0, "transfers", "transfers", "P2"),
    run(1, 1, "human_triage", "transfers", "P2", conf=0.3),
    # case 2: a failed run, then a wrong queue with the right priority
    run(2, 0, "human_triage", None, None, conf=None, mode="fallback", error="timeout"),
    run(2, 1, "card_orders", "card_orders", "P1"),
]


@pytest.fixture
def scores(taxonomy: Taxonomy) -> dict[str, Any]:
    return score_run(CASES, RUNS, k=2, taxonomy=taxonomy)


def test_human_triage_is_not_correct_end_to_end_but_the_classifier_gets_credit(
    scores: dict[str, Any],
) -> None:
    q = scores["queue"]
    assert scores["coverage"] == pytest.approx(4 / 6)
    assert q["accuracy"] == pytest.approx(3 / 6)
    assert q["routed_accuracy"] == pytest.approx(3 / 4)
    assert q["model_accuracy"] == pytest.approx(4 / 6)  # the failed run counts as wrong
    assert scores["priority"]["accuracy"] == pytest.approx(4 / 6)


def test_per_class_scores_are_end_to_end(scores: dict[str, Any]) -> None:
    transfers = scores["queue"]["per_class"]["transfers"]
    assert transfers == pytest.approx({"precision": 1.0, "recall": 0.25, "f1": 0.4, "support": 4})
    card_orders = scores["queue"]["per_class"]["card_orders"]
    assert card_orders["precision"] == pytest.approx(2 / 3) and card_orders["recall"] == 1.0


def test_pass_k_counts_cases_right_in_every_run(scores: dict[str, Any]) -> None:
    assert scores["pass_k"] == {
        "k": 2,
        "queue": pytest.approx(1 / 3),
        "route": pytest.approx(1 / 3),
        "consistency": pytest.approx(1 / 3),
    }


def test_calibration_uses_every_run_with_a_classification(scores: dict[str, Any]) -> None:
    # Runs with a confidence: 0.9 x4 (3 right), 0.3 (right) -> |0.75-0.9|*4/5 + |1-0.3|/5
    assert scores["queue"]["ece"] == pytest.approx(0.15 * 4 / 5 + 0.7 / 5)


def test_operations_are_summed_and_percentiled(scores: dict[str, Any]) -> None:
    assert scores["cost_usd"]["total"] == pytest.approx(0.006)
    assert scores["tokens"] == {"prompt": 60, "completion": 12}
    assert scores["latency_ms"]["p50"] == pytest.approx(15.0)
    assert scores["failures"] == 1
    assert scores["modes"] == {"agent": 4, "low_confidence": 1, "fallback": 1}


def test_segments_are_by_true_queue_and_priority() -> None:
    segs = segment_scores(CASES, RUNS)
    assert segs["queue:transfers"] == pytest.approx(
        {"n": 2, "queue_accuracy": 0.25, "priority_accuracy": 0.5, "coverage": 0.5}
    )
    assert segs["priority:P3"]["n"] == 1 and segs["queue:card_orders"]["queue_accuracy"] == 1.0


def test_predictions_keep_the_first_run_of_each_case() -> None:
    assert predictions(RUNS) == [
        ["card_orders", "card_orders", "P3", 0.9],
        ["transfers", "transfers", "P2", 0.9],
        ["human_triage", None, None, None],
    ]
