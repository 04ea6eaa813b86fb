from __future__ import annotations

import numpy as np
import pytest

from monitor.signals import get_signal
from monitor.signals.base import WindowSample
from monitor.signals.embedding_mmd import (
    fourier_features,
    median_distance,
    multiscale_features,
    orthogonal_directions,
    orthogonal_frequencies,
    permutation_sums,
    standardised_statistics,
    unbiased_mmd2,
)


def unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_unbiased_mmd2_from_sums_equals_the_kernel_matrix_formula() -> None:
    rng = np.random.default_rng(0)
    fx, fy = unit_rows(rng, 7, 5), unit_rows(rng, 9, 5)
    kxx, kyy, kxy = fx @ fx.T, fy @ fy.T, fx @ fy.T
    expected = (
        (kxx.sum() - np.trace(kxx)) / (7 * 6)
        + (kyy.sum() - np.trace(kyy)) / (9 * 8)
        - 2 * kxy.mean()
    )
    assert unbiased_mmd2(fx.sum(0), fy.sum(0), 7, 9) == pytest.approx(expected)


def test_fourier_features_approximate_the_rbf_kernel_with_unit_rows() -> None:
    rng = np.random.default_rng(1)
    x = unit_rows(rng, 40, 16)
    sigma = 0.8
    features = fourier_features(x, orthogonal_frequencies(16, 4096, sigma, 0))
    assert np.linalg.norm(features, axis=1) == pytest.approx(np.ones(40), abs=1e-5)
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    exact = np.exp(-d2 / (2 * sigma**2))
    assert np.abs(features @ features.T - exact).mean() < 0.02


def test_orthogonal_frequencies_are_orthogonal_within_a_block() -> None:
    w = orthogonal_frequencies(8, 8, 1.0, 2).astype(np.float64)
    gram = w.T @ w
    assert np.abs(gram - np.diag(np.diag(gram))).max() < 1e-4


def test_median_distance_matches_brute_force() -> None:
    x = unit_rows(np.random.default_rng(3), 50, 6)
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    expected = np.median(d[np.triu_indices(50, k=1)])
    assert median_distance(x, np.random.default_rng(0)) == pytest.approx(expected, rel=1e-6)


def test_permutation_sums_pick_m_rows_each() -> None:
    features = np.ones((50, 3), dtype=np.float32)
    sums = permutation_sums(features, 20, 7, np.random.default_rng(0))
    assert sums.shape == (7, 3)
    assert np.all(sums == 20.0)


def test_permutation_null_is_centred_on_zero_and_z_scores_are_standardised() -> None:
    rng = np.random.default_rng(4)
    features = unit_rows(rng, 400, 32).astype(np.float32)
    sums = permutation_sums(features, 150, 300, rng)
    null = unbiased_mmd2(sums, features.sum(0) - sums, 150, 250)
    assert abs(null.mean()) < 3 * null.std() / np.sqrt(300)
    two_blocks = np.hstack([features, features]) / np.sqrt(2)
    mmd2, z, null_z = standardised_statistics(
        two_blocks.astype(np.float32), 150, 2, 300, np.random.default_rng(5)
    )
    assert mmd2.shape == z.shape == (2,)
    assert null_z.mean(axis=0) == pytest.approx([0.0, 0.0], abs=1e-9)
    assert null_z.std(axis=0) == pytest.approx([1.0, 1.0])


def test_multiscale_features_are_one_unit_norm_block_per_width() -> None:
    x = unit_rows(np.random.default_rng(6), 10, 8)
    directions = orthogonal_directions(8, 16, 0)
    both = multiscale_features(x, directions, [0.5, 2.0])
    assert both.shape == (10, 64)
    assert both[:, :32] == pytest.approx(
        fourier_features(x, directions / np.float32(0.5)), abs=1e-6
    )
    for block in (both[:, :32], both[:, 32:]):
        assert np.linalg.norm(block, axis=1) == pytest.approx(np.ones(10), abs=1e-5)


def test_new_content_is_detected_and_the_same_traffic_is_not(make_window) -> None:
    reference = make_window(0, 2000)
    same = get_signal("embedding_mmd")(reference, make_window(1, 1000))
    assert same.p_value is not None and same.p_value > 0.05
    shifted = get_signal("embedding_mmd")(reference, make_window(2, 1000, new_share=0.1))
    assert shifted.p_value is not None and shifted.p_value < 0.01
    assert shifted.value > same.value


def test_value_only_params_use_fewer_permutations(make_window) -> None:
    spec = get_signal("embedding_mmd")
    result = spec(make_window(0, 300), make_window(1, 300), **spec.value_only_params)
    assert result.details["n_permutations"] == 100
    assert np.isfinite(result.value)


def test_too_few_permutations_are_refused(make_window) -> None:
    with pytest.raises(ValueError, match="at least 20"):
        get_signal("embedding_mmd")(make_window(0, 300), make_window(1, 300), n_permutations=5)


def test_p_value_is_uniform_enough_under_no_drift(make_window) -> None:
    reference = make_window(0, 1500)
    spec = get_signal("embedding_mmd")
    p = np.array(
        [
            spec(reference, make_window(300 + s, 150), rng=s, n_frequencies=128).p_value
            for s in range(40)
        ],
        dtype=float,
    )
    assert 0.3 < float(np.mean(p)) < 0.7
    assert np.mean(p < 0.1) < 0.25


def test_cost_is_bounded_by_sampling(make_window) -> None:
    result = get_signal("embedding_mmd")(make_window(0, 900), make_window(1, 900), max_n=200)
    assert result.details["sampled_reference"] == 200
    assert result.details["sampled_current"] == 200
    assert result.n_current == 900


def test_embeddings_are_required() -> None:
    window = WindowSample(predicted=np.zeros(100, dtype=int))
    assert get_signal("embedding_mmd")(window, window).insufficient
