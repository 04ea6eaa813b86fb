"""Detection power of this project's MMD signal vs Evidently's ``mmd`` at one false-alarm level.

A trial draws a reference window from known content and a disjoint current window in which a
``share`` of tickets comes from new topics. Null trials (share 0) set each method's threshold
at its empirical (1 - alpha) quantile, so both are compared at the same false-alarm rate; the
detection rate is the share of shifted trials above that threshold. The project's own test, a
permutation p-value below alpha, and Evidently's default drift flag are reported too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evals.bench import evidently_baseline
from monitor.signals import WindowSample, get_signal


@dataclass(frozen=True, slots=True)
class EmbeddingPool:
    """Unit-vector embeddings of known content (the reference's kind) and of new topics.

    ``shares`` are the new-topic shares worth testing: where detection is neither 0 nor 1.
    """

    known: NDArray[np.float32]
    new: NDArray[np.float32]
    source: str
    shares: tuple[float, ...]


def draw_pair(
    pool: EmbeddingPool, n: int, share: float, rng: np.random.Generator
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """A reference window and a disjoint current window with ``share`` new-topic tickets."""
    k = round(share * n)
    known = rng.choice(len(pool.known), size=2 * n - k, replace=False)
    new = rng.choice(len(pool.new), size=k, replace=False)
    current = np.vstack([pool.known[known[n:]], pool.new[new]])
    return pool.known[known[:n]], current


@dataclass(frozen=True, slots=True)
class Trial:
    ours: float
    ours_p: float
    evidently: float
    evidently_flag: bool


def run_trial(pool: EmbeddingPool, n: int, share: float, seed: int) -> Trial:
    rng = np.random.default_rng(seed)
    reference, current = draw_pair(pool, n, share, rng)
    result = get_signal("embedding_mmd")(
        WindowSample(embeddings=reference), WindowSample(embeddings=current), rng=seed
    )
    score, flag, _ = evidently_baseline.mmd_drift(reference, current)
    assert result.p_value is not None
    return Trial(result.value, result.p_value, score, flag)


def power_table(
    pool: EmbeddingPool,
    *,
    window: int = 1000,
    shares: tuple[float, ...] | None = None,
    null_trials: int = 100,
    shift_trials: int = 50,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, Any]:
    """Detection rates per shift share for both methods at the same false-alarm rate."""
    null = [run_trial(pool, window, 0.0, seed + t) for t in range(null_trials)]
    ours_cut = float(np.quantile([t.ours for t in null], 1 - alpha))
    evidently_cut = float(np.quantile([t.evidently for t in null], 1 - alpha))
    rows = [_row(0.0, null, ours_cut, evidently_cut, alpha)]
    for i, share in enumerate(shares or pool.shares):
        trials = [
            run_trial(pool, window, share, seed + 10_000 * (i + 1) + t) for t in range(shift_trials)
        ]
        rows.append(_row(share, trials, ours_cut, evidently_cut, alpha))
    return {
        "embeddings": pool.source,
        "window": window,
        "alpha": alpha,
        "null_trials": null_trials,
        "shift_trials": shift_trials,
        "rows": rows,
    }


def _row(
    share: float, trials: list[Trial], ours_cut: float, evidently_cut: float, alpha: float
) -> dict[str, float]:
    return {
        "new_topic_share": share,
        "ours": float(np.mean([t.ours > ours_cut for t in trials])),
        "evidently_mmd": float(np.mean([t.evidently > evidently_cut for t in trials])),
        "ours_permutation_test": float(np.mean([t.ours_p < alpha for t in trials])),
        "evidently_default_flag": float(np.mean([t.evidently_flag for t in trials])),
    }
