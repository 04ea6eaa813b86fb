"""The figures of a comparison between a baseline and a candidate version. Pure.

A decision's truth is the reviewer's queue (the decision's own when the review kept it, the
override's otherwise) or the helpdesk's final outcome. On a shadow both versions decided the
same ticket and share its truth (production's decision is the one reviewed); on a canary each
version has its own tickets, compared within segments (the ticket's channel: a customer's
intake, which neither version chose).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np

from agent.rollout.intervals import wilson
from agent.rollout.sequential import Evidence
from agent.taxonomy import HUMAN_TRIAGE

ALL = "all"


@dataclass(frozen=True)
class Decided:
    """One decision as a comparison reads it."""

    ticket_id: str
    segment: str
    queue: str | None
    routed_to: str
    latency_ms: float
    cost_usd: float
    at: datetime
    truth_review: str | None = None
    truth_outcome: str | None = None

    @property
    def escalated(self) -> bool:
        return self.routed_to == HUMAN_TRIAGE

    @property
    def truth(self) -> str | None:
        """The reviewer's queue first, else the helpdesk outcome's."""
        return self.truth_review or self.truth_outcome


@dataclass(frozen=True)
class Proportion:
    k: int
    n: int
    rate: float | None
    low: float | None
    high: float | None


def proportion(k: int, n: int) -> Proportion:
    ci = wilson(k, n)
    return Proportion(k, n, k / n if n else None, *(ci if ci else (None, None)))


@dataclass(frozen=True)
class SideFigures:
    n: int
    reviewed_accuracy: Proportion
    outcome_accuracy: Proportion
    escalation: Proportion
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    cost_mean_usd: float | None
    cost_total_usd: float


def _accuracy(rows: Sequence[Decided], truth: str) -> Proportion:
    labelled = [r for r in rows if getattr(r, truth) is not None]
    return proportion(sum(r.queue == getattr(r, truth) for r in labelled), len(labelled))


def side_figures(rows: Sequence[Decided]) -> SideFigures:
    latency = np.array([r.latency_ms for r in rows], dtype=float)
    cost = sum(r.cost_usd for r in rows)
    return SideFigures(
        n=len(rows),
        reviewed_accuracy=_accuracy(rows, "truth_review"),
        outcome_accuracy=_accuracy(rows, "truth_outcome"),
        escalation=proportion(sum(r.escalated for r in rows), len(rows)),
        latency_p50_ms=float(np.percentile(latency, 50)) if len(rows) else None,
        latency_p95_ms=float(np.percentile(latency, 95)) if len(rows) else None,
        cost_mean_usd=cost / len(rows) if rows else None,
        cost_total_usd=cost,
    )


@dataclass(frozen=True)
class SegmentFigures:
    segment: str
    baseline: SideFigures
    candidate: SideFigures
    agreement: Proportion | None  # shadow: tickets both routed alike

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _by_segment(rows: Iterable[Decided]) -> dict[str, list[Decided]]:
    out: dict[str, list[Decided]] = defaultdict(list)
    for r in rows:
        out[ALL].append(r)
        out[r.segment].append(r)
    return out


def paired(
    baseline: Sequence[Decided], candidate: Sequence[Decided]
) -> list[tuple[Decided, Decided]]:
    """Shadow: (baseline, candidate) decisions of the same tickets."""
    mine = {r.ticket_id: r for r in candidate}
    return [(b, mine[b.ticket_id]) for b in baseline if b.ticket_id in mine]


def segment_figures(
    baseline: Sequence[Decided], candidate: Sequence[Decided], *, same_tickets: bool
) -> list[SegmentFigures]:
    """``all`` first, then each segment either side saw."""
    base, cand = _by_segment(baseline), _by_segment(candidate)
    segments = [ALL, *sorted((set(base) | set(cand)) - {ALL})]
    out = []
    for seg in segments:
        agreement = None
        if same_tickets:
            pairs = paired(base.get(seg, []), cand.get(seg, []))
            agreement = proportion(sum(b.routed_to == c.routed_to for b, c in pairs), len(pairs))
        out.append(
            SegmentFigures(
                seg, side_figures(base.get(seg, [])), side_figures(cand.get(seg, [])), agreement
            )
        )
    return out


def _discordant(pairs: Iterable[tuple[Decided, Decided]]) -> tuple[int, int]:
    worse = better = 0
    for b, c in pairs:
        b_ok, c_ok = b.queue == b.truth, c.queue == c.truth
        worse += b_ok and not c_ok
        better += c_ok and not b_ok
    return worse, better


def _labelled_in_order(rows: Sequence[Decided]) -> list[Decided]:
    return sorted((r for r in rows if r.truth is not None), key=lambda r: (r.at, r.ticket_id))


def evidence(
    baseline: Sequence[Decided], candidate: Sequence[Decided], *, same_tickets: bool
) -> Evidence:
    """The sequential test's input: discordant labelled pairs (a shadow's by ticket; a
    canary's, the i-th labelled decision of each version within each segment, by time), and on
    a shadow the routes' agreement."""
    if same_tickets:
        pairs = paired(baseline, candidate)
        labelled = [(b, c) for b, c in pairs if b.truth is not None]
        worse, better = _discordant(labelled)
        agreed = sum(b.routed_to == c.routed_to for b, c in pairs)
        return Evidence(worse, better, agreed, len(pairs))
    worse = better = 0
    base, cand = _by_segment(baseline), _by_segment(candidate)
    for seg in set(base) & set(cand) - {ALL}:
        pairs = list(
            zip(_labelled_in_order(base[seg]), _labelled_in_order(cand[seg]), strict=False)
        )
        w, b = _discordant(pairs)
        worse, better = worse + w, better + b
    return Evidence(worse, better)
