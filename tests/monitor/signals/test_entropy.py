from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from monitor.signals import get_signal
from monitor.signals.base import WindowSample


def test_entropy_is_normalised_by_log_k_and_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    ref_p = rng.dirichlet(np.ones(4), size=80)
    cur_p = rng.dirichlet(np.ones(4) * 0.3, size=60)
    result = get_signal("entropy")(WindowSample(queue_probs=ref_p), WindowSample(queue_probs=cur_p))
    expected = stats.entropy(cur_p, base=4, axis=1)
    assert result.value == pytest.approx(expected.mean())
    assert result.details["p90"] == pytest.approx(np.quantile(expected, 0.9))
    welch = stats.ttest_ind(expected, stats.entropy(ref_p, base=4, axis=1), equal_var=False)
    assert result.p_value == pytest.approx(welch.pvalue)


def test_certain_and_uniform_rows_have_entropy_zero_and_one() -> None:
    probs = np.array([[1.0, 0.0, 0.0]] * 30 + [[1 / 3, 1 / 3, 1 / 3]] * 30)
    window = WindowSample(queue_probs=probs)
    assert get_signal("entropy")(window, window).value == pytest.approx(0.5)


def test_an_unsure_agent_is_detected_and_a_steady_one_is_not(make_window) -> None:
    reference = make_window(0, 3000)
    steady = get_signal("entropy")(reference, make_window(1, 500))
    assert steady.p_value is not None and steady.p_value > 0.01
    probs = make_window(2, 500).queue_probs
    flatter = np.sqrt(probs)
    flatter /= flatter.sum(axis=1, keepdims=True)
    unsure = get_signal("entropy")(reference, WindowSample(queue_probs=flatter))
    assert unsure.value > steady.value
    assert unsure.p_value is not None and unsure.p_value < 1e-6
