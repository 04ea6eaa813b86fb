from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from monitor.signals import get_signal
from monitor.signals.base import WindowSample


def test_value_is_the_largest_ks_statistic_and_p_is_bonferroni() -> None:
    rng = np.random.default_rng(0)
    ref = rng.dirichlet(np.ones(3), size=200)
    cur = rng.dirichlet([3.0, 1.0, 1.0], size=150)
    result = get_signal("prediction_mix")(
        WindowSample(queue_probs=ref), WindowSample(queue_probs=cur)
    )
    tests = [stats.ks_2samp(ref[:, c], cur[:, c]) for c in range(3)]
    assert result.value == pytest.approx(max(t.statistic for t in tests))
    assert result.p_value == pytest.approx(min(1.0, 3 * min(t.pvalue for t in tests)))
    assert result.details["max_ks_class"] == int(np.argmax([t.statistic for t in tests]))


def test_label_mix_shift_is_detected_and_the_same_mix_is_not(
    make_window, label_mix_weights
) -> None:
    reference = make_window(0, 3000)
    same = get_signal("prediction_mix")(reference, make_window(1, 1000))
    assert same.p_value is not None and same.p_value > 0.01
    shifted = get_signal("prediction_mix")(
        reference, make_window(2, 1000, topic_weights=label_mix_weights)
    )
    assert shifted.p_value is not None and shifted.p_value < 1e-6
    assert shifted.value > same.value


def test_windows_with_different_class_counts_are_insufficient() -> None:
    reference = WindowSample(queue_probs=np.full((50, 3), 1 / 3))
    current = WindowSample(queue_probs=np.full((50, 4), 1 / 4))
    assert get_signal("prediction_mix")(reference, current).insufficient
