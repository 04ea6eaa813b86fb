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


# A set with two cases whose right route is a person (out of scope), one with a priority.
MIXED = [
    GoldenCase("a", "card_orders", "P3"),
    GoldenCase("what is the weather like on mars", "human_triage", None),
    GoldenCase("recommend me a pasta recipe", "human_triage", "P4"),
]
MIXED_RUNS = [
    # case 0: routed right, then handed over for low confidence (the classifier was right)
    run(0, 0, "card_orders", "card_orders", "P3", conf=0.95),
    run(0, 1, "human_triage", "card_orders", "P3", conf=0.4),
    # case 1: handed over as unknown, then auto-routed (wrongly) with some confidence
    run(1, 0, "human_triage", "unknown", "P2", conf=0.7, mode="unknown"),
    run(1, 1, "transfers", "transfers", "P2", conf=0.6),
    # case 2: handed over for low confidence both times
    run(2, 0, "human_triage", "transfers", "P4", conf=0.3),
    run(2, 1, "human_triage", "transfers", "P4", conf=0.2),
]


@pytest.fixture
def mixed(taxonomy: Taxonomy) -> dict[str, Any]:
    return score_run(MIXED, MIXED_RUNS, k=2, taxonomy=taxonomy)


def test_handing_a_persons_case_to_a_person_is_right_end_to_end(mixed: dict[str, Any]) -> None:
    q = mixed["queue"]
    assert mixed["coverage"] == pytest.approx(2 / 6) and mixed["routed_runs"] == 2
    assert q["accuracy"] == pytest.approx(4 / 6)  # case 0 once, case 1 once, case 2 twice
    assert q["routed_accuracy"] == pytest.approx(1 / 2)
    # The classifier's own answers: right twice for case 0, "unknown" (a person) once.
    assert q["model_accuracy"] == pytest.approx(3 / 6)
    assert q["macro_f1"] == pytest.approx(
        sum(s["f1"] for k, s in q["per_class"].items() if k != "human_triage") / 11
    )


def test_per_class_scores_gain_a_human_triage_row_equal_to_escalation(
    mixed: dict[str, Any],
) -> None:
    row = mixed["queue"]["per_class"]["human_triage"]
    esc = mixed["escalation"]
    assert row == pytest.approx({"precision": 3 / 4, "recall": 3 / 4, "f1": 0.75, "support": 4})
    assert (esc["precision"], esc["recall"]) == pytest.approx((row["precision"], row["recall"]))
    assert "human_triage" not in mixed["priority"]["per_class"]


def test_escalation_counts_every_hand_over_against_the_persons_cases(
    mixed: dict[str, Any],
) -> None:
    esc = mixed["escalation"]
    assert esc["escalated"] == 4 and esc["rate"] == pytest.approx(4 / 6)
    assert (esc["positives"], esc["true_positives"]) == (4, 3)
    # Counting the classifier's wrong answers too: every run but case 0's first two
    # needed a person; case 0's low-confidence run was an unneeded escalation.
    errors = esc["errors"]
    assert errors["positives"] == 4 and errors["true_positives"] == 3
    assert errors["precision"] == pytest.approx(3 / 4) and errors["recall"] == pytest.approx(3 / 4)


def test_priority_is_scored_only_on_cases_routed_to_a_queue(mixed: dict[str, Any]) -> None:
    # Case 0's two runs: P3 routed, then handed over (not correct end to end).
    assert mixed["priority"]["accuracy"] == pytest.approx(1 / 2)
    assert mixed["priority"]["routed_accuracy"] == pytest.approx(1.0)
    assert mixed["pass_k"]["queue"] == pytest.approx(1 / 3)  # only case 2, right twice
    assert mixed["pass_k"]["route"] == pytest.approx(1 / 3)


def test_the_curve_covers_runs_a_confidence_bar_decides(mixed: dict[str, Any]) -> None:
    # Bar-decided runs: 0.95 (right), 0.4 (right), 0.6 (wrong), 0.3 and 0.2 (wrong);
    # the unknown run stays with a person at every bar but counts in coverage.
    assert [(p["threshold"], p["n"]) for p in mixed["curve"]] == [
        (0.95, 1),
        (0.6, 2),
        (0.4, 3),
        (0.3, 4),
        (0.2, 5),
    ]
    assert [p["accuracy"] for p in mixed["curve"]] == pytest.approx([1, 1 / 2, 2 / 3, 2 / 4, 2 / 5])
    assert mixed["curve"][-1]["coverage"] == pytest.approx(5 / 6)


def test_a_persons_cases_form_a_segment_without_priority() -> None:
    segs = segment_scores(MIXED, MIXED_RUNS)
    assert segs["queue:human_triage"] == pytest.approx(
        {"n": 2, "queue_accuracy": 3 / 4, "coverage": 1 / 4}
    )
    assert set(segs) == {"queue:card_orders", "queue:human_triage", "priority:P3"}
    assert segs["priority:P3"]["priority_accuracy"] == pytest.approx(1 / 2)


def test_without_a_persons_case_only_the_errors_variant_has_positives(
    scores: dict[str, Any],
) -> None:
    esc = scores["escalation"]
    assert (esc["positives"], esc["precision"], esc["recall"]) == (0, 0.0, 0.0)
    assert "human_triage" not in scores["queue"]["per_class"]
    # Needed a person: the failed run (handed over) and the misrouted one (not); the
    # low-confidence run of case 1 was handed over though the classifier was right.
    assert esc["errors"] == pytest.approx(
        {"precision": 1 / 2, "recall": 1 / 2, "f1": 1 / 2, "positives": 2, "true_positives": 1}
    )
