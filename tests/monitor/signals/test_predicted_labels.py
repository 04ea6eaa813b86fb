from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from monitor.signals import get_signal
from monitor.signals.base import WindowSample
from monitor.signals.predicted_labels import pooled_table


def labels(counts: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts)


def test_sparse_classes_are_pooled_into_one_column() -> None:
    counts = np.array([[50, 40, 3, 2, 0], [30, 60, 3, 3, 0]])
    table, pooled = pooled_table(counts, 5.0)
    assert pooled == [2, 3]
    assert table.tolist() == [[50, 40, 5], [30, 60, 6]]


def test_a_pool_still_too_sparse_is_dropped() -> None:
    table, pooled = pooled_table(np.array([[50, 40, 1], [30, 60, 0]]), 5.0)
    assert pooled == [2]
    assert table.tolist() == [[50, 40], [30, 60]]


def test_chi_squared_and_cramers_v_match_scipy() -> None:
    reference = WindowSample(predicted=labels([50, 40, 3, 2]))
    current = WindowSample(predicted=labels([30, 60, 3, 3]))
    result = get_signal("predicted_label_chi2")(reference, current)
    expected = stats.chi2_contingency([[50, 40, 5], [30, 60, 6]], correction=False)
    assert result.details["chi2"] == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.details["dof"] == 2
    assert result.value == pytest.approx(math.sqrt(expected.statistic / 191))
    assert [m["class"] for m in result.details["top_moved"][:2]] == [0, 1]


def test_label_mix_shift_is_detected_and_the_same_mix_is_not(
    make_window, label_mix_weights
) -> None:
    reference = make_window(0, 3000)
    same = get_signal("predicted_label_chi2")(reference, make_window(1, 1000))
    assert same.p_value is not None and same.p_value > 0.01
    shifted = get_signal("predicted_label_chi2")(
        reference, make_window(2, 1000, topic_weights=label_mix_weights)
    )
    assert shifted.p_value is not None and shifted.p_value < 1e-6


def test_a_class_beyond_the_declared_count_still_counts() -> None:
    reference = WindowSample(predicted=labels([40, 40]), n_classes=2)
    current = WindowSample(predicted=labels([20, 20, 40]), n_classes=2)
    result = get_signal("predicted_label_chi2")(reference, current)
    assert result.p_value is not None and result.p_value < 1e-6
