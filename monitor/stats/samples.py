"""Rows of the database as the arrays the signals take (no SQL here: see repository.py).

A window's rows are the agent's final decisions on tickets received in the window, each with
its ticket's embedding, its review (if any) and the ticket's outcome from the helpdesk or a
reviewer (if any). Classes are the taxonomy's queues followed by ``unknown``; a decision
without class probabilities (its model call failed) counts as uniform over them, the most
uncertain answer there is, and as predicting ``unknown``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from agent.taxonomy import HUMAN_TRIAGE, UNKNOWN
from monitor.signals import WindowSample


class DecisionRow(NamedTuple):
    """One row of the window query (see repository.WINDOW_SQL)."""

    ticket_id: uuid.UUID
    channel: str
    tenant: str | None
    queue: str | None
    priority: str | None
    routed_to: str
    mode: str
    queue_probs: dict[str, float]
    confidence: float | None
    knn_consensus: str | None
    latency_ms: float
    cost_usd: float
    tokens: int
    is_error: bool
    is_fallback: bool
    verdict: str | None
    inclusion_prob: float | None
    outcome_queue: str | None
    embedding: Any
    n_total: int


class HistoryRow(NamedTuple):
    """One row of the history query: a labelled ticket from ``load-history``."""

    ticket_id: uuid.UUID
    channel: str
    tenant: str | None
    queue: str
    priority: str
    embedding: Any
    n_total: int


@dataclass(frozen=True)
class WindowData:
    """A window's sample for the signals plus what segments and explanations need."""

    sample: WindowSample
    ticket_ids: list[uuid.UUID]
    queues: list[str | None]
    priorities: list[str | None]
    channels: list[str]
    n_total: int
    # Each ticket's tenant as its segment value (repository.TENANT_SEGMENT); None: no tenant.
    tenants: list[str | None] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.sample.n

    def segment_counts(self) -> Counter[str]:
        """Tickets per segment (``queue:x``, ``priority:x``, ``channel:x``, ``tenant:x``)."""
        counts: Counter[str] = Counter()
        for kind, values in self.columns().items():
            counts.update(f"{kind}:{v}" for v in values if v)
        return counts

    def columns(self) -> dict[str, list[str | None]]:
        """Each ticket's value of each segment kind."""
        return {
            "queue": self.queues,
            "priority": self.priorities,
            "channel": list(self.channels),
            "tenant": self.tenants,
        }


def class_names(queues: Sequence[str]) -> tuple[str, ...]:
    """The signals' classes: the taxonomy's queues, then ``unknown``."""
    return (*queues, UNKNOWN)


def probability_matrix(probs: Sequence[Mapping[str, float]], classes: Sequence[str]) -> np.ndarray:
    """(n, K) rows of class probabilities, renormalised over ``classes``; empty rows uniform."""
    index = {name: i for i, name in enumerate(classes)}
    out = np.zeros((len(probs), len(classes)))
    for row, mapping in enumerate(probs):
        for name, p in mapping.items():
            col = index.get(name)
            if col is not None:
                out[row, col] = float(p)
    totals = out.sum(axis=1, keepdims=True)
    empty = totals[:, 0] <= 0
    out[empty] = 1.0 / len(classes)
    totals[empty] = 1.0
    return out / totals


def label_indices(
    labels: Sequence[str | None], classes: Sequence[str], *, missing: int
) -> np.ndarray:
    """Each label's class index; ``missing`` where there is none or it is not a class."""
    index = {name: i for i, name in enumerate(classes)}
    return np.array([index.get(x, missing) if x else missing for x in labels], dtype=np.int64)


def codes(values: Sequence[str]) -> np.ndarray:
    """Each value's index among the distinct values (in sorted order)."""
    return np.unique(np.asarray(values, dtype=object), return_inverse=True)[1].astype(np.int64)


def embedding_matrix(values: Sequence[Any]) -> np.ndarray:
    """(n, d) float32 embeddings, rows L2-normalised."""
    if not values:
        return np.zeros((0, 384), dtype=np.float32)
    x = np.vstack([_vector(v) for v in values])
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _vector(value: Any) -> np.ndarray:
    # pgvector's binary loader gives a Vector; the text one (and tests) give arrays or lists
    raw = value.to_numpy() if hasattr(value, "to_numpy") else value
    return np.asarray(raw, dtype=np.float32)


def traffic_window(rows: Sequence[DecisionRow], classes: Sequence[str]) -> WindowData:
    """The arrays of a window (or traffic reference) of the agent's decisions."""
    k = len(classes)
    unknown = k - 1
    probs = probability_matrix([r.queue_probs for r in rows], classes)
    predicted = label_indices([r.queue for r in rows], classes, missing=unknown)
    reviewed = np.array([r.verdict is not None for r in rows], dtype=bool)
    confidence = np.array(
        [r.confidence if r.confidence is not None else np.nan for r in rows], dtype=np.float64
    )
    confidence = np.where(np.isnan(confidence), probs.max(axis=1, initial=0.0), confidence)
    sample = WindowSample(
        queue_probs=probs,
        predicted=predicted,
        embeddings=embedding_matrix([r.embedding for r in rows]),
        is_fallback=np.array([r.is_fallback for r in rows], dtype=bool),
        is_unknown=predicted == unknown,
        is_human_triage=np.array(
            [r.routed_to == HUMAN_TRIAGE and r.mode != "kill_switch" for r in rows], dtype=bool
        ),
        is_error=np.array([r.is_error for r in rows], dtype=bool),
        knn_consensus=label_indices([r.knn_consensus for r in rows], classes, missing=-1),
        reviewed=reviewed,
        overridden=np.array([r.verdict == "overridden" for r in rows], dtype=bool),
        inclusion_prob=np.clip(
            np.array([r.inclusion_prob or 1.0 for r in rows], dtype=np.float64), 1e-6, 1.0
        ),
        true_label=label_indices([r.outcome_queue for r in rows], classes, missing=-1),
        label_stratum=codes([f"{r.mode}|{r.channel}" for r in rows]),
        label_parent=codes([r.mode for r in rows]),
        confidence=confidence,
        latency_ms=np.array([r.latency_ms for r in rows], dtype=np.float64),
        cost_usd=np.array([r.cost_usd for r in rows], dtype=np.float64),
        tokens=np.array([r.tokens for r in rows], dtype=np.float64),
        n_classes=k,
    )
    return WindowData(
        sample,
        [r.ticket_id for r in rows],
        [r.queue for r in rows],
        [r.priority for r in rows],
        [r.channel for r in rows],
        rows[0].n_total if rows else 0,
        [r.tenant for r in rows],
    )


def history_window(rows: Sequence[HistoryRow], classes: Sequence[str]) -> WindowData:
    """A history reference: content only (embeddings), segmented by the outcomes' routes.

    History has no decisions of the agent, so the prediction, confidence, disagreement and
    ops signals have nothing to compare with and report themselves insufficient.
    """
    sample = WindowSample(embeddings=embedding_matrix([r.embedding for r in rows]))
    return WindowData(
        sample,
        [r.ticket_id for r in rows],
        [r.queue for r in rows],
        [r.priority for r in rows],
        [r.channel for r in rows],
        rows[0].n_total if rows else 0,
        [r.tenant for r in rows],
    )


def segment_shares(data: WindowData, kind: str) -> dict[str, float]:
    """Share of the window's tickets in each segment of ``kind``."""
    values = data.columns().get(kind, [])
    if not values:
        return {}
    counts = Counter(v for v in values if v)
    return {f"{kind}:{v}": c / len(values) for v, c in counts.items()}
