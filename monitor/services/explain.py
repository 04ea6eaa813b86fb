"""What changed, in words an operator can act on.

Tickets of the window that lie far from history (their nearest labelled ticket, by pgvector
cosine distance, is farther than for 95% of the reference's tickets) are clustered with a
small k-means; each cluster is named by its size, the terms that set it apart from the
reference, three example tickets (the nearest to its centre), the queue its nearest history
belongs to and the queue the agent routed it to. The segment that moved most is the one whose
share of traffic changed most against the reference.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from monitor.stats.evidence import Evidence
from monitor.stats.samples import WindowData, segment_shares
from monitor.stats.windows import SEGMENT_KINDS
from monitor.storage import explanations

FAR_QUANTILE = 0.95
MAX_CHECKED = 2000  # window tickets whose nearest history is looked up
MAX_REFERENCE = 300  # reference tickets that set the "far" cut-off
MAX_CLUSTERS = 5
MIN_CLUSTER = 3
EXAMPLES = 3
TOP_TERMS = 6
_WORD = re.compile(r"[a-z][a-z']{2,}")
STOPWORDS = frozenset(
    """the and for you your are was were has have had not but can could would should will
    this that these those with from what when where which who why how all any some into out
    about there their them they our ours its it's just also been being does did doing get got
    than then too very more most much many one two may might must need please thanks thank
    hello dear i'm i've don't can't didn't won't isn't it’s able still yet""".split()
)


def terms(text: str) -> set[str]:
    """The distinct content words of a text."""
    return {w.strip("'") for w in _WORD.findall(text.lower())} - STOPWORDS


def top_terms(
    texts: Sequence[str], reference_texts: Sequence[str], k: int = TOP_TERMS
) -> list[str]:
    """Words far more frequent (by document share) in ``texts`` than in the reference."""
    if not texts:
        return []
    here = Counter(t for text in texts for t in terms(text))
    there = Counter(t for text in reference_texts for t in terms(text))
    n, m = len(texts), max(1, len(reference_texts))
    min_docs = 2 if n >= 4 else 1
    scored = [((c / n) - (there[t] / m), c, t) for t, c in here.items() if c >= min_docs]
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    return [t for score, _, t in scored[:k] if score > 0]


def kmeans(
    x: NDArray[np.floating[Any]], k: int, *, seed: int = 0, iterations: int = 25
) -> NDArray[np.intp]:
    """Cluster labels of unit vectors by spherical k-means (k-means++ seeding)."""
    n = len(x)
    k = max(1, min(k, n))
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(n)]]
    for _ in range(1, k):
        sim = np.max(x @ np.array(centres).T, axis=1)
        weights = np.maximum(1.0 - sim, 0.0) ** 2
        total = weights.sum()
        pick = rng.choice(n, p=weights / total) if total > 0 else rng.integers(n)
        centres.append(x[pick])
    c = np.array(centres, dtype=np.float64)
    labels = np.zeros(n, dtype=np.intp)
    for _ in range(iterations):
        new = np.argmax(x @ c.T, axis=1)
        if _ > 0 and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            members = x[labels == j]
            if len(members):
                mean = members.mean(axis=0)
                c[j] = mean / max(np.linalg.norm(mean), 1e-12)
    return labels


def cluster_count(n_far: int) -> int:
    """Clusters for ``n_far`` tickets: about one per ten, at most MAX_CLUSTERS."""
    return max(1, min(MAX_CLUSTERS, n_far // 10))


def segment_moved_most(current: WindowData, reference: WindowData) -> dict[str, Any] | None:
    """The segment whose share of traffic changed most between reference and window."""
    best: dict[str, Any] | None = None
    for kind in SEGMENT_KINDS:
        now, before = segment_shares(current, kind), segment_shares(reference, kind)
        for segment in now.keys() | before.keys():
            change = now.get(segment, 0.0) - before.get(segment, 0.0)
            if best is None or abs(change) > abs(best["change"]):
                best = {
                    "segment": segment,
                    "reference_share": round(before.get(segment, 0.0), 4),
                    "current_share": round(now.get(segment, 0.0), 4),
                    "change": round(change, 4),
                }
    return best


def far_from_history(
    session: Session, current: WindowData, reference: WindowData, *, before: datetime
) -> tuple[list[int], dict[uuid.UUID, str | None], float | None]:
    """Indices of the window's tickets far from history, their nearest queue, the cut-off."""
    checked = current.ticket_ids[:MAX_CHECKED]
    nearest = explanations.nearest_history(session, checked, before=before)
    ref_ids = reference.ticket_ids[:MAX_REFERENCE]
    ref_nearest = explanations.nearest_history(session, ref_ids, before=before)
    ref_d = [d for d, _ in ref_nearest.values() if d is not None]
    if not ref_d:
        return [], {}, None
    cutoff = float(np.quantile(ref_d, FAR_QUANTILE))
    far = [
        i
        for i, tid in enumerate(checked)
        if (d := nearest.get(tid, (None, None))[0]) is not None and d > cutoff
    ]
    return far, {tid: q for tid, (_, q) in nearest.items()}, cutoff


def clusters(
    current: WindowData,
    far: Sequence[int],
    texts: dict[uuid.UUID, str],
    reference_texts: Sequence[str],
    nearest_queue: dict[uuid.UUID, str | None],
) -> list[dict[str, Any]]:
    """The far tickets' clusters, largest first."""
    if not far:
        return []
    assert current.sample.embeddings is not None
    x = current.sample.embeddings[list(far)].astype(np.float64)
    labels = kmeans(x, cluster_count(len(far)))
    out = []
    for j in np.unique(labels):
        members = [far[int(i)] for i in np.flatnonzero(labels == j)]
        if len(members) < MIN_CLUSTER:
            continue
        centre = x[labels == j].mean(axis=0)
        order = np.argsort(-(current.sample.embeddings[members] @ centre))
        ids = [current.ticket_ids[i] for i in members]
        out.append(
            {
                "size": len(members),
                "top_terms": top_terms([texts.get(t, "") for t in ids], reference_texts),
                "examples": [texts.get(ids[i], "")[:280] for i in order[:EXAMPLES]],
                "nearest_queue": _most_common(nearest_queue.get(t) for t in ids),
                "predicted_queue": _most_common(current.queues[i] for i in members),
            }
        )
    return sorted(out, key=lambda c: -int(c["size"]))


def _most_common(values: Any) -> str | None:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None


def explain(
    session: Session,
    *,
    current: WindowData,
    reference: WindowData,
    evidence: Evidence,
    window_start: datetime,
) -> dict[str, Any]:
    """The alert's explanation: clusters of new tickets, the segment that moved most, and
    which kind of change the evidence points to."""
    far, nearest_queue, cutoff = far_from_history(session, current, reference, before=window_start)
    far_ids = [current.ticket_ids[i] for i in far]
    ref_ids = reference.ticket_ids[:MAX_REFERENCE]
    texts = explanations.ticket_texts(session, far_ids + ref_ids)
    ref_texts = [texts.get(t, "") for t in ref_ids]
    found = clusters(current, far, texts, ref_texts, nearest_queue)
    checked = min(current.n, MAX_CHECKED)
    moved = evidence.what_moved
    far_line = (
        f"{len(far)} of {checked} tickets lie far from history (cosine distance to their "
        f"nearest labelled ticket above {cutoff:.3f}, the reference's 95th percentile)"
        if cutoff is not None
        else "no labelled history to measure distances against"
    )
    return {
        "summary": f"{far_line}; {moved.summary}",
        "clusters": found,
        "far_tickets": len(far),
        "checked_tickets": checked,
        "far_cutoff": cutoff,
        "segment_moved_most": segment_moved_most(current, reference),
        "what_moved": {"kind": moved.kind, "summary": moved.summary, "groups": moved.groups},
    }
