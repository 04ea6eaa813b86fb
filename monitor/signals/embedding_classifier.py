"""Embedding drift by a domain classifier: can a linear model tell current tickets from history?

The classifier is a ridge-regularised linear discriminant (least squares on the 0/1 window
label, one linear solve in d dimensions, no iterations), cross-fitted on two stratified folds
so every sampled ticket is scored by a model that did not see it. The value is the held-out
AUC (0.5: indistinguishable); the p-value is the one-sided Mann-Whitney test of the held-out
scores, whose U statistic is the AUC times n_ref * n_cur. Cost is bounded by sampling at most
``max_n`` tickets a side.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from monitor.signals._stats import subsample
from monitor.signals.base import SignalResult, WindowSample, register


def discriminant_scores(
    train_x: NDArray[np.float64],
    train_y: NDArray[np.float64],
    test_x: NDArray[np.float64],
    ridge: float,
) -> NDArray[np.float64]:
    """Scores of ``test_x`` under a ridge least-squares discriminant fitted on the training set."""
    mean = train_x.mean(axis=0)
    centred = train_x - mean
    gram = centred.T @ centred
    penalty = ridge * np.trace(gram) / gram.shape[0]
    gram[np.diag_indices_from(gram)] += penalty
    weights = conjugate_gradient(gram, centred.T @ (train_y - train_y.mean()))
    return np.asarray((test_x - mean) @ weights)


def conjugate_gradient(
    matrix: NDArray[np.float64], rhs: NDArray[np.float64], *, tol: float = 1e-8, max_iter: int = 200
) -> NDArray[np.float64]:
    """Solve a symmetric positive-definite system by conjugate gradients.

    The ridge keeps the system well conditioned, so a few dozen matrix-vector products do;
    unlike a LAPACK factorisation they do not stall when a multithreaded BLAS shares busy cores.
    """
    x = np.zeros_like(rhs)
    residual = rhs.copy()
    direction = residual.copy()
    norm = float(residual @ residual)
    stop = tol * tol * float(rhs @ rhs)
    for _ in range(max_iter):
        if norm <= stop:
            break
        product = matrix @ direction
        step = norm / float(direction @ product)
        x += step * direction
        residual -= step * product
        new_norm = float(residual @ residual)
        direction = residual + (new_norm / norm) * direction
        norm = new_norm
    return x


def two_fold_split(labels: NDArray[np.int8], rng: np.random.Generator) -> NDArray[np.int8]:
    """Fold 0/1 for each sample, stratified by label."""
    folds = np.zeros(len(labels), dtype=np.int8)
    for value in (0, 1):
        members = rng.permutation(np.flatnonzero(labels == value))
        folds[members[len(members) // 2 :]] = 1
    return folds


@register("embedding_classifier", requires=("embeddings",), min_current=50, group="embedding")
def embedding_classifier(
    reference: WindowSample,
    current: WindowSample,
    *,
    rng: np.random.Generator,
    max_n: int = 2000,
    ridge: float = 1.0,
    **_: Any,
) -> SignalResult:
    """Held-out AUC of a cross-fitted linear classifier separating current from reference."""
    assert reference.embeddings is not None and current.embeddings is not None
    x_ref = subsample(reference.embeddings, max_n, rng)[0]
    x_cur = subsample(current.embeddings, max_n, rng)[0]
    x = np.vstack([x_ref, x_cur]).astype(np.float64)
    labels = np.r_[np.zeros(len(x_ref), np.int8), np.ones(len(x_cur), np.int8)]
    folds = two_fold_split(labels, rng)
    scores = np.empty(len(x))
    for fold in (0, 1):
        test = folds == fold
        train_y = labels[~test].astype(np.float64)
        scores[test] = discriminant_scores(x[~test], train_y, x[test], ridge)
    test_result = stats.mannwhitneyu(
        scores[labels == 1], scores[labels == 0], alternative="greater"
    )
    auc = float(test_result.statistic) / (len(x_cur) * len(x_ref))
    return SignalResult(
        name="embedding_classifier",
        value=auc,
        p_value=float(test_result.pvalue),
        n_reference=reference.n,
        n_current=current.n,
        details={
            "auc": auc,
            "sampled_reference": len(x_ref),
            "sampled_current": len(x_cur),
            "ridge": ridge,
            "classifier": "ridge_linear_discriminant_2fold",
        },
    )
