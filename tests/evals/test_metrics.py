"""Eval metrics against scikit-learn and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from evals.metrics import (
    accuracy,
    accuracy_coverage_curve,
    consistency,
    escalation_scores,
    expected_calibration_error,
    macro_f1,
    pass_hat_k,
    per_class_scores,
    percentile,
    reliability,
)

LABELS = ["cards", "transfers", "fees"]


def _random_predictions(seed: int, n: int = 400) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    y_true = list(rng.choice(LABELS, size=n, p=[0.5, 0.3, 0.2]))
    # Predictions include labels outside the taxonomy, as human triage and unknown are.
    y_pred = [
        t if rng.random() < 0.6 else str(rng.choice([*LABELS, "human_triage", "unknown"]))
        for t in y_true
    ]
    return y_true, y_pred


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accuracy_and_macro_f1_match_scikit_learn(seed: int) -> None:
    y_true, y_pred = _random_predictions(seed)
    assert accuracy(y_true, y_pred) == pytest.approx(accuracy_score(y_true, y_pred))
    expected = f1_score(y_true, y_pred, labels=LABELS, average="macro", zero_division=0)
    assert macro_f1(y_true, y_pred, LABELS) == pytest.approx(expected)


@pytest.mark.parametrize("seed", [3, 4])
def test_per_class_scores_match_scikit_learn(seed: int) -> None:
    y_true, y_pred = _random_predictions(seed)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=LABELS, zero_division=0)
    scores = per_class_scores(y_true, y_pred, LABELS)
    for i, label in enumerate(LABELS):
        got = scores[label]
        assert (got.precision, got.recall, got.f1) == pytest.approx((p[i], r[i], f[i]))
        assert got.support == s[i]


def test_human_triage_counts_against_recall_but_not_precision() -> None:
    y_true = ["cards", "cards", "fees", "fees"]
    y_pred = ["cards", "human_triage", "fees", None]
    scores = per_class_scores(y_true, y_pred, ["cards", "fees"])
    assert scores["cards"].precision == 1.0 and scores["cards"].recall == 0.5
    assert scores["cards"].f1 == pytest.approx(2 / 3)
    assert accuracy(y_true, y_pred) == 0.5


def test_a_class_never_predicted_nor_present_scores_zero() -> None:
    scores = per_class_scores(["cards"], ["cards"], ["cards", "fees"])
    assert scores["fees"].f1 == 0.0 and scores["fees"].support == 0
    assert macro_f1(["cards"], ["cards"], ["cards", "fees"]) == 0.5


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="2 true labels but 1"):
        accuracy(["a", "b"], ["a"])


def test_ece_by_hand() -> None:
    # Bin (0.8, 0.9]: confidences 0.85, 0.9 -> mean 0.875, accuracy 0.5 -> gap 0.375, weight 2/4
    # Bin (0.5, 0.6]: 0.6 correct -> gap 0.4, weight 1/4; bin (0.9, 1.0]: 1.0 correct -> gap 0.
    conf = [0.85, 0.9, 0.6, 1.0]
    correct = [True, False, True, True]
    assert expected_calibration_error(conf, correct) == pytest.approx(
        0.5 * 0.375 + 0.25 * 0.4 + 0.25 * 0.0
    )
    bins = reliability(conf, correct)
    assert [(b.lower, b.n) for b in bins] == [
        (pytest.approx(0.5), 1),
        (pytest.approx(0.8), 2),
        (pytest.approx(0.9), 1),
    ]


def test_ece_is_zero_when_confidence_equals_accuracy_in_every_bin() -> None:
    conf = [0.75] * 4 + [0.25] * 4
    correct = [True, True, True, False, True, False, False, False]
    assert expected_calibration_error(conf, correct) == pytest.approx(0.0)


def test_ece_of_overconfident_predictions_is_the_gap() -> None:
    conf = [0.99] * 10
    correct = [True] * 7 + [False] * 3
    assert expected_calibration_error(conf, correct) == pytest.approx(0.29)
    assert expected_calibration_error(conf, correct, n_bins=2) == pytest.approx(0.29)


def test_a_confidence_on_a_bin_edge_falls_in_the_bin_it_closes() -> None:
    bins = reliability([0.3, 0.7, 0.0, 1.0], [True] * 4)
    assert [(round(b.lower, 1), round(b.upper, 1)) for b in bins] == [
        (0.0, 0.1),
        (0.2, 0.3),
        (0.6, 0.7),
        (0.9, 1.0),
    ]


def test_ece_rejects_confidences_outside_the_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expected_calibration_error([1.2], [True])
    assert expected_calibration_error([], []) == 0.0


def test_pass_hat_k_needs_every_run_correct() -> None:
    runs = [[True, True, True], [True, False, True], [False, False, False], [True] * 3]
    assert pass_hat_k(runs, 3) == pytest.approx(0.5)
    assert pass_hat_k(runs, 1) == pytest.approx((3 + 2 + 0 + 3) / 12)


def test_pass_hat_k_with_more_runs_than_k_is_the_unbiased_estimate() -> None:
    # 3 of 4 runs correct: C(3,2)/C(4,2) = 3/6
    assert pass_hat_k([[True, True, False, True]], 2) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="fewer than k"):
        pass_hat_k([[True]], 2)


def test_consistency_counts_cases_whose_runs_agree() -> None:
    answers = [["a", "a", "a"], ["a", "b", "a"], [("x", "P1")] * 3, ["human_triage"] * 3]
    assert consistency(answers) == pytest.approx(0.75)


def test_percentile_interpolates_like_numpy() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 50) == 25.0
    assert percentile(values, 95) == pytest.approx(np.percentile(values, 95))
    assert percentile([], 50) == 0.0


def test_escalation_scores_by_hand() -> None:
    escalated = [True, True, False, False, True, False]
    positive = [True, False, True, False, True, False]
    s = escalation_scores(escalated, positive)
    assert (s.escalated, s.positives, s.true_positives) == (3, 3, 2)
    assert s.precision == pytest.approx(2 / 3) and s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 * 2 / (3 + 3))


@pytest.mark.parametrize("seed", [0, 1])
def test_escalation_scores_match_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    positive = list(rng.random(300) < 0.2)
    escalated = [bool(p and rng.random() < 0.7 or rng.random() < 0.1) for p in positive]
    p, r, f, _ = precision_recall_fscore_support(
        positive, escalated, average="binary", zero_division=0
    )
    s = escalation_scores(escalated, positive)
    assert (s.precision, s.recall, s.f1) == pytest.approx((p, r, f))


def test_escalation_without_positives_or_escalations_scores_zero() -> None:
    s = escalation_scores([False, False], [False, False])
    assert (s.precision, s.recall, s.f1, s.positives) == (0.0, 0.0, 0.0, 0)
    with pytest.raises(ValueError, match="2 escalation flags but 1"):
        escalation_scores([True, False], [True])


def test_accuracy_coverage_curve_by_hand() -> None:
    # Six runs; the fifth cannot be routed at any bar (no confidence), yet counts in coverage.
    conf = [0.9, 0.8, 0.8, 0.6, None, 0.3]
    right = [True, True, False, True, True, False]
    points = accuracy_coverage_curve(conf, right)
    assert [(p.threshold, p.routed) for p in points] == [(0.9, 1), (0.8, 3), (0.6, 4), (0.3, 5)]
    assert [p.coverage for p in points] == pytest.approx([1 / 6, 3 / 6, 4 / 6, 5 / 6])
    assert [p.accuracy for p in points] == pytest.approx([1.0, 2 / 3, 3 / 4, 3 / 5])


def test_a_long_curve_is_thinned_evenly_in_coverage_keeping_both_ends() -> None:
    rng = np.random.default_rng(4)
    conf = list(rng.random(1000))
    right = [bool(rng.random() < c) for c in conf]
    points = accuracy_coverage_curve(conf, right, max_points=11)
    assert len(points) == 11
    assert points[0].threshold == max(conf) and points[-1].threshold == min(conf)
    assert points[-1].coverage == 1.0 and points[0].routed == 1
    steps = np.diff([p.routed for p in points])
    assert steps.min() >= 99 and steps.max() <= 101  # ranks 0, 100, 200, ... 999
    for p in points:  # every point is what that bar really routes
        chosen = [ok for c, ok in zip(conf, right, strict=True) if c >= p.threshold]
        assert p.routed == len(chosen) and p.accuracy == pytest.approx(np.mean(chosen))


def test_curve_inputs_are_checked() -> None:
    assert accuracy_coverage_curve([None, None], [False, True]) == []
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        accuracy_coverage_curve([1.2], [True])
    with pytest.raises(ValueError, match="1 confidences but 2 outcomes"):
        accuracy_coverage_curve([0.5], [True, False])
