from __future__ import annotations

import numpy as np
import pytest

from monitor.signals import get_signal
from monitor.signals.base import WindowSample


def test_share_of_disagreement_leaves_out_tickets_without_consensus() -> None:
    predicted = np.array([0, 1, 2, 3] * 25)
    consensus = np.array([0, 2, -1, 3] * 25)  # 25 disagree, 25 have no consensus
    window = WindowSample(predicted=predicted, knn_consensus=consensus)
    result = get_signal("history_disagreement")(window, window)
    assert result.value == pytest.approx(25 / 75)
    assert result.details["with_consensus"] == 75
    assert result.n_current == 100


def test_no_consensus_at_all_is_insufficient() -> None:
    window = WindowSample(predicted=np.zeros(100, int), knn_consensus=np.full(100, -1))
    result = get_signal("history_disagreement")(window, window)
    assert result.insufficient


def test_confident_failure_on_new_content_is_detected(make_window) -> None:
    reference = make_window(0, 3000)
    same = get_signal("history_disagreement")(reference, make_window(1, 1000))
    assert same.p_value is not None and same.p_value > 0.01
    shifted = get_signal("history_disagreement")(reference, make_window(2, 1000, new_share=0.1))
    assert shifted.value > same.value
    assert shifted.p_value is not None and shifted.p_value < 1e-4
