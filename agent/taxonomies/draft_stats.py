"""The statistics of a taxonomy draft, as pure functions: distinctive words, medoids, and
the leave-one-out kNN confusion between queues."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EXAMPLES_PER_QUEUE = 3

_TOKEN = re.compile(r"[^\W\d_](?:[\w'-]*[^\W\d_])?")
STOP_WORDS = frozenset(
    """about above after again against all also and any are aren't because been before being
    below between both but can cannot could did didn't does doesn't doing don't down during
    each few for from further get got had has have having her here hers him his how i'm i've
    into isn't it's its itself just let me more most much must my myself nor not now off once
    only other our ours out over own please same she should since some such than thank thanks
    that that's the their theirs them then there these they this those through too under
    until very was wasn't way we're were what when where which while who whom why will with
    won't would you you're your yours hello dear regards still yet one two also via""".split()
)


@dataclass(frozen=True)
class ConfusablePair:
    """Two queues a kNN vote over the history mixes up: ``a_as_b`` is the share of a's
    tickets voted into b (leave-one-out), ``b_as_a`` the reverse."""

    a: str
    b: str
    a_as_b: float
    b_as_a: float

    @property
    def rate(self) -> float:
        return max(self.a_as_b, self.b_as_a)


def tokens(text: str) -> set[str]:
    """The distinct words of ``text`` a description may use (3+ letters, no stop words)."""
    words = (w.lower().strip("'-") for w in _TOKEN.findall(text))
    return {w for w in words if len(w) >= 3 and w not in STOP_WORDS}


def distinctive_terms(texts_by_label: dict[str, list[str]], n: int) -> dict[str, list[str]]:
    """Each label's ``n`` most distinctive words: a word scores its share of the label's
    tickets times the log-ratio of that share to its share of the other labels' tickets."""
    df = {
        label: Counter(w for t in texts for w in tokens(t))
        for label, texts in texts_by_label.items()
    }
    total_df: Counter[str] = Counter()
    for counts in df.values():
        total_df.update(counts)
    total = sum(len(t) for t in texts_by_label.values())
    out: dict[str, list[str]] = {}
    for label, texts in texts_by_label.items():
        n_q, rest = len(texts), max(1, total - len(texts))
        eps = 1.0 / max(total, 1)
        min_df = 2 if n_q >= 5 else 1
        scores = {
            w: (c / n_q) * math.log((c / n_q + eps) / ((total_df[w] - c) / rest + eps))
            for w, c in df[label].items()
            if c >= min_df
        }
        ranked = sorted(scores, key=lambda w: (-scores[w], w))
        out[label] = [w for w in ranked if scores[w] > 0][:n]
    return out


def medoids(vectors: np.ndarray, k: int = EXAMPLES_PER_QUEUE, iters: int = 10) -> list[int]:
    """Indices of ``k`` medoids of unit ``vectors`` (cosine), biggest cluster first: a
    k-medoids split seeded with the overall medoid and farthest-first picks."""
    m = len(vectors)
    if m <= k:
        return list(range(m))
    sims = vectors @ vectors.T
    chosen = [int(np.argmax(sims.sum(axis=1)))]
    while len(chosen) < k:
        chosen.append(int(np.argmin(sims[:, chosen].max(axis=1))))
    for _ in range(iters):
        assign = np.argmax(sims[:, chosen], axis=1)
        updated = []
        for c in range(k):
            members = np.flatnonzero(assign == c)
            if len(members) == 0:
                updated.append(chosen[c])
                continue
            within = sims[np.ix_(members, members)].sum(axis=1)
            updated.append(int(members[np.argmax(within)]))
        if updated == chosen:
            break
        chosen = updated
    sizes = np.bincount(np.argmax(sims[:, chosen], axis=1), minlength=k)
    return [chosen[c] for c in np.argsort(-sizes, kind="stable")]


def loo_knn_confusion(vectors: np.ndarray, labels: np.ndarray, n_labels: int, k: int) -> np.ndarray:
    """Row-normalised confusion of a leave-one-out, similarity-weighted kNN vote: entry
    (a, b) is the share of label a's tickets whose ``k`` nearest others vote b."""
    k = max(1, min(k, len(vectors) - 1))
    confusion = np.zeros((n_labels, n_labels))
    for start in range(0, len(vectors), 1024):
        block = vectors[start : start + 1024] @ vectors.T
        rows = np.arange(block.shape[0])
        block[rows, rows + start] = -np.inf  # leave the ticket itself out
        nearest = np.argpartition(-block, k - 1, axis=1)[:, :k]
        weights = np.maximum(np.take_along_axis(block, nearest, axis=1), 0.0) + 1e-6
        votes = np.zeros((block.shape[0], n_labels))
        np.add.at(votes, (rows[:, None], labels[nearest]), weights)
        predicted = votes.argmax(axis=1)
        np.add.at(confusion, (labels[start : start + 1024], predicted), 1)
    totals = confusion.sum(axis=1, keepdims=True)
    return confusion / np.maximum(totals, 1)


def confusable_pairs(
    confusion: np.ndarray, names: Sequence[str], threshold: float
) -> list[ConfusablePair]:
    """Pairs whose confusion one way or the other is at least ``threshold``, worst first."""
    pairs = []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            pair = ConfusablePair(names[a], names[b], confusion[a, b], confusion[b, a])
            if pair.rate >= threshold:
                pairs.append(pair)
    return sorted(pairs, key=lambda p: -p.rate)
