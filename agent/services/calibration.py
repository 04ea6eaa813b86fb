"""Held-out history for fitting a version (leave-one-out over stored outcomes): the knn vote,
the novelty gate and the confidence threshold."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.classify.abstention import (
    AbstentionFit,
    HeldOutRoute,
    History,
    RoutingTarget,
    fit_threshold,
    gate_for,
    knn_held_out_routes,
    learned_score_for,
    route_held_out,
)
from agent.classify.base import Classifier, Neighbour
from agent.classify.knn import KnnParams
from agent.classify.knn_fit import FitReport, HeldOut, fit_knn
from agent.classify.novelty import (
    DEFAULT_ALPHA,
    DEFAULT_SCORE,
    LEARNED,
    MIN_CALIBRATION,
    LearnedScore,
)
from agent.classify.novelty import leave_one_out as without_copies
from agent.repositories import history
from agent.taxonomy import Taxonomy
from agent.version_context import DEFAULT_HISTORY_SCOPE

# Held-out tickets a version is fitted on: the gate's realized escalation rate scatters around
# alpha by about sqrt(alpha / n); 4,000 keeps it within a point (docs/abstention.md).
CALIBRATION_TICKETS = 4000
# History tickets the learned novelty score is fitted on: the next ones after the calibration
# sample in the same seeded order, so never calibration tickets.
FIT_TICKETS = 2000
# The score a version's novelty gate uses unless told otherwise (docs/abstention.md).
VERSION_SCORE = LEARNED
# The HNSW scan breadth for the held-out tickets' neighbours (wider than serving's: a fit reads
# a few thousand tickets once, and recall matters more than latency).
HELD_OUT_EF_SEARCH = 100
# Neighbours fetched beyond k, so that k remain once a held-out ticket's own copies are dropped.
SPARE_NEIGHBOURS = 10


def held_out_history(
    database_url: str,
    *,
    n: int,
    k: int,
    seed: int = 0,
    taxonomy: str | None = None,
    per_tenant: bool = False,
) -> list[HeldOut]:
    """``n`` history tickets (a seeded random sample, the same for the same history) with their
    k nearest other outcomes (exact copies of the ticket's text left out too) and its text.
    ``taxonomy`` (a content hash): read history as labelled under it (``taxonomy migrate``).
    ``per_tenant``: each ticket's neighbours from its own tenant's outcomes only, as a version
    with ``history_scope: tenant`` retrieves them (docs/abstention.md, "History scope")."""
    connection = history.connect(database_url, ef_search=HELD_OUT_EF_SEARCH, iterative=per_tenant)
    with connection as conn:
        labels = history.label_set_sync(conn, taxonomy) if taxonomy else None
        cases = []
        for ticket_id, queue, priority, embedding, body in history.held_out_sample(
            conn, n=n, seed=seed, labels=labels
        ):
            rows = history.nearest_others(
                conn,
                embedding=embedding,
                exclude=ticket_id,
                limit=k + SPARE_NEIGHBOURS,
                labels=labels,
                same_tenant=per_tenant,
            )
            near = [Neighbour(str(r[0]), "", r[1], r[2], float(r[3])) for r in rows]
            neighbours = without_copies(near)[:k]
            cases.append(HeldOut(queue=queue, priority=priority, neighbours=neighbours, text=body))
    return cases


def load_history(database_url: str, *, seed: int = 0, taxonomy: str | None = None) -> History:
    """Every stored outcome with an embedding, in the held-out sample's seeded order: the first
    ``n`` rows are the calibration sample of ``held_out_history(n=n)``, the rest are not."""
    with history.connect(database_url) as conn:
        labels = history.label_set_sync(conn, taxonomy) if taxonomy else None
        rows = history.labelled_embeddings(conn, seed=seed, labels=labels)
    vectors = [r[2].to_numpy() if hasattr(r[2], "to_numpy") else r[2] for r in rows]
    emb = np.asarray(vectors, dtype=np.float32).reshape(len(rows), -1 if rows else 0)
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    return History(
        embeddings=emb,
        queues=np.asarray([r[0] for r in rows], dtype=str),
        priorities=np.asarray([r[1] for r in rows], dtype=str),
    )


def learned_score(
    database_url: str, *, n: int, k: int, tau: float, seed: int = 0, taxonomy: str | None = None
) -> tuple[LearnedScore | None, str | None]:
    """The learned novelty score, fitted on up to ``FIT_TICKETS`` history tickets outside the
    ``n``-ticket calibration sample (None, and why, when history is too small to simulate)."""
    labelled = load_history(database_url, seed=seed, taxonomy=taxonomy)
    size = len(labelled.queues)
    fit_rows = np.arange(min(n, size), min(n + FIT_TICKETS, size))
    return learned_score_for(labelled, fit_rows, k=k, tau=tau, seed=seed)


def calibrate_knn(
    database_url: str, taxonomy: Taxonomy, *, n: int = 1000, k: int = 15, seed: int = 0
) -> FitReport:
    """Fit the knn parameters on held-out history drawn from the database."""
    cases = [
        c
        for c in held_out_history(database_url, n=n, k=k, seed=seed, taxonomy=taxonomy.content_hash)
        if c.queue in taxonomy.queue_names
    ]
    return fit_knn(cases, queues=taxonomy.queue_names, priorities=taxonomy.priority_names, k=k)


@dataclass
class VersionCalibration:
    """Everything ``versions create`` fits on held-out history, and what it could not."""

    params: KnnParams
    abstention: AbstentionFit
    knn: FitReport | None
    n: int
    warnings: list[str] = field(default_factory=list)

    def thresholds(self, min_confidence: float) -> dict[str, Any]:
        return self.abstention.thresholds(min_confidence)


def _knn_params(
    cases: list[HeldOut], taxonomy: Taxonomy, k: int
) -> tuple[KnnParams, FitReport | None, list[str]]:
    if len(cases) < MIN_CALIBRATION:
        return (
            KnnParams(k=k),
            None,
            [
                f"knn not calibrated: needs {MIN_CALIBRATION} held-out tickets "
                f"(have {len(cases)}); default parameters"
            ],
        )
    report = fit_knn(cases, queues=taxonomy.queue_names, priorities=taxonomy.priority_names, k=k)
    return report.params, report, []


def calibrate_version(
    database_url: str,
    taxonomy: Taxonomy,
    *,
    target: RoutingTarget,
    n: int = CALIBRATION_TICKETS,
    k: int = 15,
    alpha: float = DEFAULT_ALPHA,
    score: str = VERSION_SCORE,
    seed: int = 0,
    classifier: Classifier | None = None,
    model_tickets: int = 200,
    history_scope: str = DEFAULT_HISTORY_SCOPE,
) -> VersionCalibration:
    """Fit the knn vote, the novelty gate and (for a target) the confidence threshold.

    ``classifier`` is a model-backed classifier (llm, cascade) whose confidence the threshold
    is fitted to, on ``model_tickets`` held-out tickets; without one the knn vote's is used.
    ``history_scope`` is the version's: with ``tenant`` every held-out ticket's neighbours come
    from its own tenant's outcomes, as they will when the version serves.
    """
    held_out = held_out_history(
        database_url,
        n=n,
        k=k,
        seed=seed,
        taxonomy=taxonomy.content_hash,
        per_tenant=history_scope == "tenant",
    )
    cases = [c for c in held_out if c.queue in taxonomy.queue_names]
    params, report, warnings = _knn_params(cases, taxonomy, k)
    model, fallback = None, None
    if score == LEARNED:
        model, fallback = learned_score(
            database_url, n=n, k=k, tau=params.tau, seed=seed, taxonomy=taxonomy.content_hash
        )
        if model is None:
            score = DEFAULT_SCORE
            fallback = f"learned novelty score not fitted, {DEFAULT_SCORE} used: needs {fallback}"
            warnings.append(fallback)
    gate, gate_warnings = gate_for(
        cases, taxonomy, params=params, alpha=alpha, score=score, model=model
    )
    warnings += gate_warnings
    selective = None
    if target.fitted and cases:
        routes = (
            knn_held_out_routes(cases, taxonomy, params=params, gate=gate)
            if classifier is None
            else asyncio.run(_model_routes(cases[:model_tickets], taxonomy, classifier, gate))
        )
        selective = fit_threshold(routes, target)
    elif target.fitted:
        warnings.append("confidence threshold not fitted: there is no held-out history")
    fit = AbstentionFit(gate=gate, selective=selective, warnings=warnings, score_fallback=fallback)
    return VersionCalibration(params, fit, report, len(cases), warnings)


async def _model_routes(
    cases: list[HeldOut], taxonomy: Taxonomy, classifier: Classifier, gate: Any
) -> list[HeldOutRoute]:
    """Held-out tickets routed by a model-backed classifier, a few calls at a time."""
    limit = asyncio.Semaphore(4)

    async def one(case: HeldOut) -> HeldOutRoute:
        async with limit:
            c = await classifier.classify(
                text=case.text, neighbours=list(case.neighbours), taxonomy=taxonomy
            )
        return route_held_out(case, c, gate)

    return list(await asyncio.gather(*(one(c) for c in cases)))
