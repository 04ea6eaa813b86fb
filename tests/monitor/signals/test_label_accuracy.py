"""The late-label accuracy: inverse-probability weights, the estimate and its test, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.signals import get_signal
from monitor.signals._stats import rate_excess_test
from monitor.signals.base import WindowSample
from monitor.signals.label_accuracy import (
    AccuracyEstimate,
    alarm_accuracy,
    inclusion_weights,
    ipw_accuracy,
    shortfall_test,
)


def test_each_label_weighs_its_strata_size_over_its_labels() -> None:
    # stratum 0: 8 decisions, 2 labelled (both right); stratum 1: 2 flagged, both labelled wrong
    stratum = np.array([0] * 8 + [1] * 2)
    labelled = np.array([True, True] + [False] * 6 + [True, True])
    correct = np.array([True, True] + [False] * 6 + [False, False])
    weights = inclusion_weights(labelled, stratum, stratum)
    assert weights.tolist() == [4.0, 4.0] + [0.0] * 6 + [1.0, 1.0]
    est = ipw_accuracy(correct, labelled, stratum, stratum)
    # post-stratified: (8 * 1 + 2 * 0) / 10, where the raw share of right labels is 2 / 4
    assert est.accuracy == pytest.approx(0.8)
    assert est.variance == pytest.approx((16 * 0.04 * 2 + 1 * 0.64 * 2) / 100)
    assert est.n_effective == pytest.approx(100 / 34)
    assert (est.labelled, est.covered, est.total, est.coverage) == (4, 10, 10, 1.0)


def test_a_stratum_without_labels_borrows_its_parent_and_an_orphan_parent_is_left_out() -> None:
    # strata agent|email (5, no label), agent|web (5, one label), low|web (2, no label at all)
    stratum = np.array([0] * 5 + [1] * 5 + [2] * 2)
    parent = np.array([0] * 10 + [1] * 2)
    labelled = np.zeros(12, dtype=bool)
    labelled[5] = True
    weights = inclusion_weights(labelled, stratum, parent)
    assert weights[5] == pytest.approx(10.0)  # its own 5 and the 5 without a label
    assert weights.sum() == pytest.approx(10.0)
    est = ipw_accuracy(labelled, labelled, stratum, parent)
    assert (est.accuracy, est.covered, est.total) == (1.0, 10, 12)
    assert est.coverage == pytest.approx(10 / 12)


def test_no_labels_give_no_estimate() -> None:
    est = ipw_accuracy(np.zeros(3, bool), np.zeros(3, bool), np.zeros(3, int), np.zeros(3, int))
    assert np.isnan(est.accuracy) and est.labelled == 0 and est.n_effective == 0.0


def test_weighting_undoes_the_review_sampling_that_the_raw_share_suffers() -> None:
    # 1,000 decisions: 200 flagged (all reviewed, 50% right), 800 confident (10% reviewed,
    # 95% right): true accuracy 0.86; the reviewed ones are mostly the flagged ones
    rng = np.random.default_rng(7)
    flagged = np.arange(1000) < 200
    correct = np.where(flagged, rng.random(1000) < 0.5, rng.random(1000) < 0.95)
    labelled = flagged | (rng.random(1000) < 0.1)
    est = ipw_accuracy(correct, labelled, flagged.astype(int), flagged.astype(int))
    truth = correct.mean()
    raw = correct[labelled].mean()
    assert abs(est.accuracy - truth) < 0.02 < abs(raw - truth) - 0.1


def test_with_equal_weights_the_test_is_fishers_exact_test_on_the_raw_counts() -> None:
    ref = AccuracyEstimate(0.9, 0.0, 100.0, 100, 100, 100)
    cur = AccuracyEstimate(28 / 40, 0.0, 40.0, 40, 40, 40)
    assert cur.effective_counts() == (12, 40)
    assert shortfall_test(ref, cur) == pytest.approx(rate_excess_test(10, 100, 12, 40))
    assert shortfall_test(ref, cur) == pytest.approx(0.0048752, rel=1e-4)
    assert shortfall_test(ref, AccuracyEstimate(0.95, 0.0, 40.0, 40, 40, 40)) > 0.5


def _window(correct: list[bool], labelled: list[bool]) -> WindowSample:
    n = len(correct)
    predicted = np.zeros(n, dtype=np.int64)
    truth = np.where(np.array(correct), 0, 1)
    return WindowSample(
        predicted=predicted,
        true_label=np.where(np.array(labelled), truth, -1),
        label_stratum=np.zeros(n, dtype=np.int64),
        label_parent=np.zeros(n, dtype=np.int64),
    )


def test_the_signal_tests_the_window_against_the_reference_accuracy() -> None:
    spec = get_signal("label_accuracy")
    reference = _window([i % 10 != 0 for i in range(200)], [True] * 200)  # 90%, 20 errors
    current = _window([i % 10 < 6 for i in range(60)], [True] * 50 + [False] * 10)  # 30/50
    result = spec(reference, current)
    assert not result.insufficient and spec.direction == "decrease" and spec.exact is not None
    assert result.value == pytest.approx(0.6)
    assert result.p_value == pytest.approx(rate_excess_test(20, 200, 20, 50))
    assert result.details["labelled"] == 50 and result.details["reference_accuracy"] == 0.9
    low, high = result.details["ci95"]
    assert low < 0.6 < high
    # the threshold is the highest accuracy whose p-value reaches alpha
    threshold = alarm_accuracy(result, 1e-3)
    assert threshold is not None
    errors_at = round((1 - threshold) * 50)
    assert (
        rate_excess_test(20, 200, errors_at, 50)
        <= 1e-3
        < rate_excess_test(20, 200, errors_at - 1, 50)
    )


def test_too_few_labels_are_insufficient_not_drift() -> None:
    reference = _window([True] * 100, [True] * 100)
    current = _window([False] * 60, [True] * 19 + [False] * 41)
    result = get_signal("label_accuracy")(reference, current)
    assert result.insufficient and "fewer than 20 labelled" in result.details["reason"]
