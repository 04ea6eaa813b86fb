"""Embedding drift by maximum mean discrepancy (MMD) with an RBF kernel.

Design: the quadratic-time MMD costs O(n^2 d) (10k vs 10k, 384-d: ~10^11 flops), so this signal
uses random Fourier features (Rahimi & Recht 2007; orthogonal ones, Yu et al. 2016): D random
frequencies give a feature map ``phi`` with ``phi(x).phi(y) ~ exp(-|x-y|^2 / (2 sigma^2))``
and ``phi(x).phi(x) = 1`` exactly, and the unbiased MMD^2 becomes a function of the two
feature sums, O(n d D).
A permutation test on the features is cheap too: each permutation is one row of a 0/1 matrix
times the pooled features, so B permutations are one matrix product, O(B n D).
The bandwidth is the median pairwise distance within the reference (median heuristic) times
``bandwidth_scales`` (several scales give the mean of RBF kernels), so it does not move with the
current window. The default, a single kernel at 0.5 x median with 512 orthogonal frequencies,
was chosen on power at a 5% false-alarm rate, 1000 vs 1000 tickets, against Evidently's exact
``mmd``: on MiniLM sentence embeddings with 10% of tickets from held-out intents it detected
71% of shifts (Evidently 49%; 1.5 x median: 43%; a 0.5/1/2 mixture: 50%), and on synthetic
topic clusters with 3% new-topic tickets 41% (Evidently 38%). Using every ticket (up to
``max_n`` a side) rather than a subsample is what the linear cost buys.
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


def orthogonal_frequencies(
    dim: int, count: int, sigmas: Sequence[float] | float, seed: int
) -> NDArray[np.float32]:
    """Frequencies for the mean of RBF kernels of widths ``sigmas`` (equal shares of count)."""
    widths = np.atleast_1d(np.asarray(sigmas, dtype=np.float64))
    per_column = widths[np.arange(count) * len(widths) // count]
    return (orthogonal_directions(dim, count, seed) / per_column[None, :]).astype(np.float32)


def fourier_features(x: FloatArray, frequencies: NDArray[np.float32]) -> NDArray[np.float32]:
    """Random Fourier features [cos(xW), sin(xW)] / sqrt(D): each row has unit norm."""
    count = frequencies.shape[1]
    projection = x.astype(np.float32, copy=False) @ frequencies
    features = np.empty((len(x), 2 * count), dtype=np.float32)
    np.cos(projection, out=features[:, :count])
    np.sin(projection, out=features[:, count:])
    features *= np.float32(1.0 / np.sqrt(count))
    return features


def unbiased_mmd2(sum_x: FloatArray, sum_y: FloatArray, m: int, n: int) -> NDArray[np.float64]:
    """Unbiased MMD^2 from feature sums (last axis), for features with phi(x).phi(x) = 1."""
    xx = ((sum_x * sum_x).sum(axis=-1) - m) / (m * (m - 1.0))
    yy = ((sum_y * sum_y).sum(axis=-1) - n) / (n * (n - 1.0))
    xy = (sum_x * sum_y).sum(axis=-1) / (m * n)
    return np.asarray(xx + yy - 2.0 * xy, dtype=np.float64)


def permutation_mmd2(
    features: NDArray[np.float32], m: int, n_permutations: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """MMD^2 of ``n_permutations`` random splits of the pooled features into m and the rest."""
    total = features.shape[0]
    # Each row's m smallest uniform keys pick a uniformly random subset of size m.
    keys = rng.random((n_permutations, total))
    cut = np.partition(keys, m - 1, axis=1)[:, m - 1 : m]
    mask = (keys <= cut).astype(np.float32)
    sums_x = (mask @ features).astype(np.float64)
    sums_y = features.sum(axis=0, dtype=np.float64)[None, :] - sums_x
    return unbiased_mmd2(sums_x, sums_y, m, total - m)


@register(
    "embedding_mmd",
    requires=("embeddings",),
    min_current=50,
    group="embedding",
    value_only_params={"n_permutations": 0},
)
def embedding_mmd(
    reference: WindowSample,
    current: WindowSample,
    *,
    rng: np.random.Generator,
    max_n: int = 10_000,
    n_frequencies: int = 512,
    n_permutations: int = 200,
    bandwidth_scales: Sequence[float] = (0.5,),
    feature_seed: int = 0,
    **_: Any,
) -> SignalResult:
    """Unbiased MMD^2 (RBF, random Fourier features) with a permutation p-value."""
    assert reference.embeddings is not None and current.embeddings is not None
    x = subsample(reference.embeddings, max_n, rng)[0]
    y = subsample(current.embeddings, max_n, rng)[0]
    median = median_distance(x, rng)
    sigmas = [median * scale for scale in bandwidth_scales]
    frequencies = orthogonal_frequencies(x.shape[1], n_frequencies, sigmas, feature_seed)
    features = fourier_features(np.vstack([x, y]), frequencies)
    m, n = len(x), len(y)
    sum_x = features[:m].sum(axis=0, dtype=np.float64)
    sum_y = features[m:].sum(axis=0, dtype=np.float64)
    mmd2 = float(unbiased_mmd2(sum_x, sum_y, m, n))
    p_value = None
    if n_permutations > 0:
        null = permutation_mmd2(features, m, n_permutations, rng)
        p_value = float((1 + np.count_nonzero(null >= mmd2)) / (n_permutations + 1))
    return SignalResult(
        name="embedding_mmd",
        value=mmd2,
        p_value=p_value,
        n_reference=reference.n,
        n_current=current.n,
        details={
            "mmd2": mmd2,
            "bandwidths": sigmas,
            "n_frequencies": n_frequencies,
            "n_permutations": n_permutations,
            "sampled_reference": m,
            "sampled_current": n,
            "method": "random_fourier_features",
        },
    )
