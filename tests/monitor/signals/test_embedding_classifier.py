from __future__ import annotations

import numpy as np
import pytest

from monitor.signals import get_signal
from monitor.signals.embedding_classifier import (
    conjugate_gradient,
    discriminant_scores,
    two_fold_split,
)


def test_two_fold_split_is_stratified_and_balanced() -> None:
    labels = np.r_[np.zeros(101, np.int8), np.ones(40, np.int8)]
    folds = two_fold_split(labels, np.random.default_rng(0))
    for value, size in ((0, 101), (1, 40)):
        in_fold_one = folds[labels == value].sum()
        assert in_fold_one in (size // 2, size - size // 2)


def test_discriminant_separates_two_shifted_clouds() -> None:
    rng = np.random.default_rng(1)
    x = np.vstack([rng.standard_normal((200, 5)), rng.standard_normal((200, 5)) + 2.0])
    y = np.r_[np.zeros(200), np.ones(200)]
    scores = discriminant_scores(x, y, x, ridge=0.1)
    assert scores[200:].mean() > scores[:200].mean()
    auc = (scores[200:, None] > scores[None, :200]).mean()
    assert auc > 0.99


def test_auc_is_the_mann_whitney_u_over_the_pair_count(make_window) -> None:
    reference, current = make_window(0, 400), make_window(1, 300, new_share=0.3)
    result = get_signal("embedding_classifier")(reference, current)
    assert 0.0 <= result.value <= 1.0
    assert result.details["sampled_reference"] == 400
    assert result.details["sampled_current"] == 300


def test_new_content_is_detected_and_the_same_traffic_is_not(make_window) -> None:
    reference = make_window(0, 2000)
    same = get_signal("embedding_classifier")(reference, make_window(1, 1000))
    assert same.value == pytest.approx(0.5, abs=0.05)
    assert same.p_value is not None and same.p_value > 0.01
    shifted = get_signal("embedding_classifier")(reference, make_window(2, 1000, new_share=0.2))
    assert shifted.value > 0.55
    assert shifted.p_value is not None and shifted.p_value < 1e-4


def test_conjugate_gradient_solves_a_ridge_system() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((200, 20))
    gram = x.T @ x + 5.0 * np.eye(20)
    rhs = rng.standard_normal(20)
    assert conjugate_gradient(gram, rhs) == pytest.approx(np.linalg.solve(gram, rhs), rel=1e-6)
