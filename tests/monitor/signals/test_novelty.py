from __future__ import annotations

import numpy as np
import pytest

from monitor.signals import get_signal
from monitor.signals.novelty import nearest_similarity


def test_nearest_similarity_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    base = rng.standard_normal((30, 8)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    sims = base @ base.T
    np.fill_diagonal(sims, -np.inf)
    assert nearest_similarity(base, base, exclude_self=True) == pytest.approx(sims.max(axis=1))
    assert nearest_similarity(base[:3], base) == pytest.approx(np.ones(3), abs=1e-6)


def test_same_traffic_has_the_expected_share_of_far_tickets(make_window) -> None:
    result = get_signal("novelty")(make_window(0, 2000), make_window(1, 1000))
    assert result.value == pytest.approx(0.05, abs=0.025)
    assert result.p_value is not None and result.p_value > 0.01


def test_new_content_is_flagged_with_the_new_tickets_as_examples(make_window) -> None:
    current = make_window(2, 1000, new_share=0.1)
    result = get_signal("novelty")(make_window(0, 2000), current)
    assert result.value > 0.12
    assert result.p_value is not None and result.p_value < 1e-6
    # synthetic_window puts the new-topic tickets last
    assert all(i >= 900 for i in result.details["examples"])


def test_a_label_mix_shift_is_not_new_content(make_window, label_mix_weights) -> None:
    current = make_window(3, 1000, topic_weights=label_mix_weights)
    result = get_signal("novelty")(make_window(0, 2000), current)
    assert result.p_value is not None and result.p_value > 0.01
