"""Embedding drift by maximum mean discrepancy (MMD) with RBF kernels.

Design: the quadratic-time MMD costs O(n^2 d) (10k vs 10k, 384-d: ~10^11 flops), so this signal
uses random Fourier features (Rahimi & Recht 2007; orthogonal ones, Yu et al. 2016): D random
frequencies give a feature map ``phi`` with ``phi(x).phi(y) ~ exp(-|x-y|^2 / (2 sigma^2))``
and ``phi(x).phi(x) = 1`` exactly, and the unbiased MMD^2 becomes a function of the two
feature sums, O(n d D). A permutation test on the features is cheap too: B permutations are
one (B x n) 0/1 matrix times the pooled features, O(B n D).

No single kernel width suits every shift: on MiniLM sentence embeddings a narrow kernel
(0.5 x the median pairwise distance of the reference) finds new intents best, on diffuse
topic clusters a wider one (1 x median). So the statistic is computed at both widths, each is
standardised by its permutation null (z = (MMD^2 - mean) / sd), and the value is the larger z;
the p-value compares it with the same maximum over the permutations, so it stays exact
(an aggregated test in the spirit of MMDAgg, Schrab et al. 2023). The widths come from the
reference alone, so they do not move with the current window; the feature map is fixed by
``feature_seed``, so values are comparable across windows and calibration replicates.
At a 5% false-alarm rate, 1000 vs 1000 tickets, against Evidently's exact ``mmd``: with 10% of
tickets from held-out Banking77 intents (MiniLM embeddings) this detected 58% of shifts,
Evidently 38%; with 4% new-topic tickets in synthetic clusters 77%, Evidently 78% (60 trials
each; ``evals/bench/monitor.py`` reruns the comparison).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from monitor.signals._stats import subsample
from monitor.signals.base import SignalResult, WindowSample, register

FloatArray = NDArray[np.floating[Any]]


def median_distance(x: FloatArray, rng: np.random.Generator, *, max_points: int = 500) -> float:
    """Median pairwise Euclidean distance among at most ``max_points`` rows of ``x``."""
    sample, _ = subsample(x, max_points, rng)
    sample = sample.astype(np.float64)
    sq = (sample * sample).sum(axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * sample @ sample.T
    upper = d2[np.triu_indices(len(sample), k=1)]
    median = float(np.sqrt(max(np.median(upper), 0.0)))
    return median if median > 0 else 1.0


@functools.lru_cache(maxsize=8)
def orthogonal_directions(dim: int, count: int, seed: int) -> NDArray[np.float32]:
    """``count`` random frequency vectors for a unit-width RBF kernel, as orthogonal features.

    Blocks of ``dim`` orthonormal directions with chi(dim)-distributed lengths have the same
    marginal law as i.i.d. Gaussian frequencies but approximate the kernel with lower variance
    (Yu et al. 2016), which buys test power at a given feature count. Cached: the QR is the
    costly part, and a fixed feature map keeps values comparable across windows and with the
    calibration replicates.
    """
    rng = np.random.default_rng(seed)
    blocks = []
    for _ in range(-(-count // dim)):
        q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
        q *= np.sign(np.diag(r))[None, :]
        blocks.append(q * np.sqrt(rng.chisquare(dim, size=dim))[None, :])
    directions = np.hstack(blocks)[:, :count].astype(np.float32)
    directions.flags.writeable = False
    return directions


def orthogonal_frequencies(dim: int, count: int, sigma: float, seed: int) -> NDArray[np.float32]:
    """Frequencies for an RBF kernel of width ``sigma``."""
    return orthogonal_directions(dim, count, seed) / np.float32(sigma)


def fourier_features(x: FloatArray, frequencies: NDArray[np.float32]) -> NDArray[np.float32]:
    """Random Fourier features [cos(xW), sin(xW)] / sqrt(D): each row has unit norm."""
    return multiscale_features(x, frequencies, [1.0])


def multiscale_features(
    x: FloatArray, directions: NDArray[np.float32], sigmas: Sequence[float]
) -> NDArray[np.float32]:
    """Fourier features for each kernel width, side by side: one block of 2D columns a width."""
    count = directions.shape[1]
    projection = x.astype(np.float32, copy=False) @ directions
    features = np.empty((len(x), 2 * count * len(sigmas)), dtype=np.float32)
    scale = np.float32(1.0 / np.sqrt(count))
    for j, sigma in enumerate(sigmas):
        block = features[:, 2 * count * j : 2 * count * (j + 1)]
        scaled = projection / np.float32(sigma)
        np.cos(scaled, out=block[:, :count])
        np.sin(scaled, out=block[:, count:])
        block *= scale
    return features


def unbiased_mmd2(sum_x: FloatArray, sum_y: FloatArray, m: int, n: int) -> NDArray[np.float64]:
    """Unbiased MMD^2 from feature sums (last axis), for features with phi(x).phi(x) = 1."""
    xx = ((sum_x * sum_x).sum(axis=-1) - m) / (m * (m - 1.0))
    yy = ((sum_y * sum_y).sum(axis=-1) - n) / (n * (n - 1.0))
    xy = (sum_x * sum_y).sum(axis=-1) / (m * n)
    return np.asarray(xx + yy - 2.0 * xy, dtype=np.float64)


def permutation_sums(
    features: NDArray[np.float32], m: int, n_permutations: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Feature sums of a random m-subset of the pooled rows, for each of n_permutations."""
    # Each row's m smallest uniform keys pick a uniformly random subset of size m.
    keys = rng.random((n_permutations, features.shape[0]))
    cut = np.partition(keys, m - 1, axis=1)[:, m - 1 : m]
    mask = (keys <= cut).astype(np.float32)
    return (mask @ features).astype(np.float64)


def standardised_statistics(
    features: NDArray[np.float32],
    m: int,
    n_scales: int,
    n_permutations: int,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per width: observed MMD^2, its z-score, and the permutation z-scores (B x widths)."""
    n = features.shape[0] - m
    total = features.sum(axis=0, dtype=np.float64)
    observed_x = features[:m].sum(axis=0, dtype=np.float64)
    permuted_x = permutation_sums(features, m, n_permutations, rng)
    width = features.shape[1] // n_scales
    mmd2, z, null_z = np.empty(n_scales), np.empty(n_scales), np.empty((n_permutations, n_scales))
    for j in range(n_scales):
        cols = slice(j * width, (j + 1) * width)
        mmd2[j] = unbiased_mmd2(observed_x[cols], total[cols] - observed_x[cols], m, n)
        null = unbiased_mmd2(permuted_x[:, cols], total[None, cols] - permuted_x[:, cols], m, n)
        centre, spread = null.mean(), max(float(null.std()), 1e-300)
        z[j] = (mmd2[j] - centre) / spread
        null_z[:, j] = (null - centre) / spread
    return mmd2, z, null_z


@register(
    "embedding_mmd",
    requires=("embeddings",),
    min_current=50,
    group="embedding",
    value_only_params={"n_permutations": 100},
)
def embedding_mmd(
    reference: WindowSample,
    current: WindowSample,
    *,
    rng: np.random.Generator,
    max_n: int = 10_000,
    n_frequencies: int = 512,
    n_permutations: int = 200,
    bandwidth_scales: Sequence[float] = (0.5, 1.0),
    feature_seed: int = 0,
    **_: Any,
) -> SignalResult:
    """Largest standardised MMD^2 over kernel widths, with a permutation p-value of that max."""
    if n_permutations < 20:
        raise ValueError("embedding_mmd standardises by permutations: use at least 20")
    assert reference.embeddings is not None and current.embeddings is not None
    x = subsample(reference.embeddings, max_n, rng)[0]
    y = subsample(current.embeddings, max_n, rng)[0]
    median = median_distance(x, rng)
    sigmas = [median * scale for scale in bandwidth_scales]
    directions = orthogonal_directions(x.shape[1], n_frequencies, feature_seed)
    features = multiscale_features(np.vstack([x, y]), directions, sigmas)
    mmd2, z, null_z = standardised_statistics(features, len(x), len(sigmas), n_permutations, rng)
    value = float(z.max())
    p_value = float((1 + np.count_nonzero(null_z.max(axis=1) >= value)) / (n_permutations + 1))
    return SignalResult(
        name="embedding_mmd",
        value=value,
        p_value=p_value,
        n_reference=reference.n,
        n_current=current.n,
        details={
            "mmd2": mmd2.tolist(),
            "z": z.tolist(),
            "bandwidths": sigmas,
            "n_frequencies": n_frequencies,
            "n_permutations": n_permutations,
            "sampled_reference": len(x),
            "sampled_current": len(y),
            "method": "random_fourier_features_max_z",
        },
    )
