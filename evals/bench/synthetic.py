"""Synthetic monitor windows: clustered unit-vector embeddings and the decisions an agent makes.

Tickets belong to topics; each topic is a cluster of 384-d unit vectors around a centre
(centres share a common direction, as sentence embeddings do). A topic maps to a queue. The
agent is right with fair confidence on known topics; on *new* topics (centres absent from the
reference) it is confidently wrong: the quiet failure the monitor is built to catch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from monitor.signals.base import WindowSample

DIM = 384


def topic_centres(
    rng: np.random.Generator, count: int, *, dim: int = DIM, shared: float = 0.5
) -> NDArray[np.float64]:
    """``count`` unit-vector topic centres sharing a common direction."""
    common = rng.standard_normal(dim)
    common /= np.linalg.norm(common)
    own = rng.standard_normal((count, dim))
    own /= np.linalg.norm(own, axis=1, keepdims=True)
    centres = shared * common + own
    return np.asarray(centres / np.linalg.norm(centres, axis=1, keepdims=True))


def topic_embeddings(
    rng: np.random.Generator,
    centres: NDArray[np.float64],
    topics: NDArray[np.integer[Any]],
    *,
    spread: float = 1.0,
) -> NDArray[np.float32]:
    """Unit vectors scattered around each ticket's topic centre (cosine to centre ~0.7)."""
    dim = centres.shape[1]
    x = centres[topics] + spread * rng.standard_normal((len(topics), dim)) / np.sqrt(dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _softmax(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.asarray(z / z.sum(axis=1, keepdims=True))


def synthetic_window(
    rng: np.random.Generator,
    *,
    n: int,
    centres: NDArray[np.float64],
    n_classes: int = 11,
    topic_weights: NDArray[np.float64] | None = None,
    new_centres: NDArray[np.float64] | None = None,
    new_share: float = 0.0,
    latency_scale: float = 1.0,
) -> WindowSample:
    """A window of ``n`` tickets; ``new_share`` of them from ``new_centres`` (new content)."""
    n_new = round(new_share * n) if new_centres is not None else 0
    topics = rng.choice(len(centres), size=n - n_new, p=topic_weights)
    emb = [topic_embeddings(rng, centres, topics)]
    true = topics % (n_classes - 1)  # the last class is ``unknown``
    logits = rng.standard_normal((n, n_classes))
    logits[np.arange(n - n_new), true] += 3.0
    if n_new:
        assert new_centres is not None
        emb.append(topic_embeddings(rng, new_centres, rng.integers(len(new_centres), size=n_new)))
        logits[np.arange(n - n_new, n), rng.integers(n_classes - 1, size=n_new)] += 4.0
        true = np.r_[true, rng.integers(n_classes - 1, size=n_new)]
    probs = _softmax(3.0 * logits)  # temperature chosen so known topics are calibrated
    predicted = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    knows = np.r_[rng.random(n - n_new) < 0.9, np.zeros(n_new, bool)]
    knn = np.where(knows, true, rng.integers(n_classes - 1, size=n))
    inclusion = np.where(confidence < 0.6, 0.5, 0.05)
    reviewed = rng.random(n) < inclusion
    triage = (confidence < 0.5) | (predicted == n_classes - 1)
    return WindowSample(
        queue_probs=probs,
        predicted=predicted,
        embeddings=np.vstack(emb),
        is_fallback=rng.random(n) < 0.02,
        is_unknown=predicted == n_classes - 1,
        is_human_triage=triage,
        is_error=rng.random(n) < 0.01,
        knn_consensus=knn,
        reviewed=reviewed,
        overridden=reviewed & (predicted != true),
        inclusion_prob=inclusion,
        true_label=np.where(rng.random(n) < 0.3, true, -1),
        label_stratum=triage.astype(np.int64),  # the decision's mode: routed or to triage
        label_parent=triage.astype(np.int64),
        confidence=confidence,
        latency_ms=rng.lognormal(6.0, 0.4, n) * latency_scale,
        cost_usd=rng.gamma(2.0, 2e-4, n),
        tokens=rng.normal(400.0, 60.0, n),
        n_classes=n_classes,
    )
