"""Fitting the knn classifier on held-out history: vote sharpness, temperature, unknown band.

Pure functions over neighbour lists, so the fit is testable without a database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agent.classify.base import Neighbour
from agent.classify.knn import KnnParams, vote_shares

TAUS = (0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2)
TEMPERATURES = tuple(float(t) for t in np.geomspace(0.1, 5.0, 30))


@dataclass(frozen=True)
class HeldOut:
    """One held-out history ticket: its true route and its neighbours (itself excluded)."""

    queue: str
    priority: str
    neighbours: Sequence[Neighbour]
    text: str = ""


@dataclass(frozen=True)
class FitReport:
    params: KnnParams
    n: int
    nll_queue: float
    nll_priority: float
    accuracy_queue: float
    accuracy_priority: float


def _shares(
    cases: Sequence[HeldOut], classes: Sequence[str], field: str, tau: float, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Vote shares (n, K) and the index of each case's true class."""
    rows, truth = [], []
    index = {c: i for i, c in enumerate(classes)}
    for case in cases:
        near = list(case.neighbours)[:k]
        shares = vote_shares(
            [getattr(n, field) for n in near], [n.distance for n in near], classes, tau
        )
        rows.append([shares[c] for c in classes])
        truth.append(index[getattr(case, field)])
    return np.asarray(rows), np.asarray(truth)


def _nll(shares: np.ndarray, truth: np.ndarray, alpha: float, temp: float) -> float:
    """Mean negative log-likelihood of the calibrated probabilities (as in ``calibrate``)."""
    k = shares.shape[1]
    logits = np.log((shares + alpha) / (1 + k * alpha)) / temp
    logits -= logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(truth)), truth].mean())


def _best(
    cases: Sequence[HeldOut],
    classes: Sequence[str],
    field: str,
    alpha: float,
    k: int,
    taus: Sequence[float],
) -> tuple[float, float, float, float]:
    """(nll, tau, temperature, accuracy) minimising held-out NLL."""
    best = (math.inf, taus[0], 1.0, 0.0)
    for tau in taus:
        shares, truth = _shares(cases, classes, field, tau, k)
        accuracy = float((shares.argmax(axis=1) == truth).mean())
        for temp in TEMPERATURES:
            nll = _nll(shares, truth, alpha, temp)
            if nll < best[0]:
                best = (nll, tau, temp, accuracy)
    return best


def unknown_band(nearest_distances: Sequence[float]) -> tuple[float, float]:
    """Where ``unknown`` starts and saturates: beyond the 99th percentile of in-history
    nearest-neighbour distances, fully unknown at twice the spread above it."""
    d = np.asarray(nearest_distances, dtype=float)
    q50, q99 = np.quantile(d, [0.5, 0.99])
    return float(q99), float(q99 + max(0.05, 2 * (q99 - q50)))


def fit_knn(
    cases: Sequence[HeldOut],
    *,
    queues: Sequence[str],
    priorities: Sequence[str],
    k: int = 15,
    alpha: float = 0.01,
) -> FitReport:
    """Choose tau and the queue temperature by held-out NLL, then the priority temperature."""
    if len(cases) < 50:
        raise ValueError(f"calibration needs at least 50 held-out tickets, got {len(cases)}")
    nll_q, tau, temp_q, acc_q = _best(cases, queues, "queue", alpha, k, TAUS)
    nll_p, _, temp_p, acc_p = _best(cases, priorities, "priority", alpha, k, (tau,))
    lo, hi = unknown_band([min(n.distance for n in c.neighbours) for c in cases if c.neighbours])
    params = KnnParams(
        k=k,
        tau=tau,
        alpha=alpha,
        temperature_queue=temp_q,
        temperature_priority=temp_p,
        unknown_lo=lo,
        unknown_hi=hi,
    )
    return FitReport(params, len(cases), nll_q, nll_p, acc_q, acc_p)
