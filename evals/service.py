"""``eval run``: score an agent version on a golden set and store the run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.config import Settings
from agent.db import async_session_scope, make_async_engine, make_pool
from agent.embed import get_embedder
from agent.embedded import resolve_database_url
from agent.graph.state import ResolvedVersion
from agent.models import AgentVersion, EvalRun, GoldenSet
from agent.services.classifiers import ClassifierRegistry
from agent.services.neighbours import PgNeighbourStore
from agent.taxonomy import HUMAN_TRIAGE
from evals import repository, scoring
from evals.cross_taxonomy import TaxonomyView, map_runs
from evals.errors import EvalSetupError
from evals.golden.cases import GoldenCase
from evals.golden.store import find_golden_set, load_cases
from evals.harness.runner import Progress, run_cases
from evals.versions import find_version, resolved

# Bumped whenever what the scores mean changes, so stored runs are not compared across it.
# 2: golden cases whose right route is a person (human_triage); escalation and the curve.
SCORING_VERSION = 2
POOL_WAIT_S = 120.0
VIEW_KEY = "taxonomy_view"  # in a run's context: scored on another taxonomy's labels


@dataclass(frozen=True)
class ScoredRun:
    run: EvalRun
    version: AgentVersion
    golden: GoldenSet
    reused: bool


@dataclass(frozen=True)
class _Plan:
    version: AgentVersion
    resolved: ResolvedVersion
    golden: GoldenSet
    cases: list[GoldenCase]
    context: dict[str, Any]
    view: ViewedCases | None = None


@dataclass(frozen=True)
class ViewedCases:
    """Score on another taxonomy (:mod:`evals.cross_taxonomy`): these cases, labelled on it."""

    view: TaxonomyView
    cases: list[GoldenCase]


async def _plan(
    session: AsyncSession,
    settings: Settings,
    version_ref: str,
    golden_ref: str | None,
    view: ViewedCases | None = None,
) -> _Plan:
    golden = await find_golden_set(session, golden_ref)
    version = await find_version(session, version_ref)
    cases = load_cases(golden, settings.data_dir) if view is None else view.cases
    graph_version = await resolved(session, version)
    taxonomy = graph_version.taxonomy if view is None else view.view.new
    foreign = sorted({c.queue for c in cases} - {*taxonomy.queue_names, HUMAN_TRIAGE})
    if foreign:
        raise EvalSetupError(
            f"golden set {golden.name} {golden.version} ({golden.taxonomy}) has queues that "
            f"version {version.semver}'s taxonomy {taxonomy.name}@{taxonomy.version} lacks: "
            f"{', '.join(foreign)}"
        )
    context = {
        "scoring": SCORING_VERSION,
        "embedding_model": settings.embedding_model,
        "history": await repository.history_fingerprint(session),
        **({VIEW_KEY: view.view.context} if view is not None else {}),
    }
    return _Plan(version, graph_version, golden, cases, context, view)


async def _score(
    plan: _Plan, settings: Settings, url: str, k: int, progress: Progress | None
) -> dict[str, Any]:
    version = plan.resolved
    pool = make_pool(
        url,
        size=settings.eval_concurrency,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        wait_timeout_s=POOL_WAIT_S,
    )
    await pool.open(wait=True)
    try:
        output = await run_cases(
            plan.cases,
            set_hash=plan.golden.content_hash,
            version=version,
            k=k,
            embedder=get_embedder(settings),
            history=PgNeighbourStore(pool),
            classifiers=ClassifierRegistry(settings),
            concurrency=settings.eval_concurrency,
            progress=progress,
        )
    finally:
        await pool.close()
    runs, taxonomy = output.runs, version.taxonomy
    if plan.view is not None:
        taxonomy = plan.view.view.scored_taxonomy()
        if version.taxonomy.content_hash != plan.view.view.new.content_hash:
            runs = map_runs(runs, plan.cases, plan.view.view.mapping)
    metrics = scoring.score_run(
        plan.cases, runs, k=k, taxonomy=taxonomy, ece_bins=settings.eval_ece_bins
    )
    metrics["embed_ms_per_case"] = output.embed_seconds * 1000 / max(len(plan.cases), 1)
    metrics["wall_seconds"] = output.embed_seconds + output.route_seconds
    metrics["concurrency"] = settings.eval_concurrency  # graph latency is measured under it
    return {
        "metrics": metrics,
        "per_segment": scoring.segment_scores(plan.cases, runs),
        "predictions": scoring.predictions(runs),
    }


async def evaluate(
    settings: Settings,
    *,
    version_ref: str,
    golden_ref: str | None = None,
    k: int = 1,
    created_by: str,
    reuse: bool = False,
    progress: Progress | None = None,
    view: ViewedCases | None = None,
) -> ScoredRun:
    """Score a version (semver or label) on a golden set, k runs per case, and store it.

    With ``reuse``, an earlier run of the same version on the same set under the same
    context (embedding model, history, scoring) is returned instead of running again.
    With ``view``, its cases are scored on its taxonomy (the gate across taxonomies).
    """
    if k < 1:
        raise EvalSetupError("k must be at least 1")
    url = resolve_database_url(settings)
    engine = make_async_engine(url, settings, application_name="ticketwatch-eval")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with async_session_scope(sessions) as session:
            plan = await _plan(session, settings, version_ref, golden_ref, view)
            if reuse:
                earlier = await repository.latest_run(
                    session,
                    agent_version_id=plan.version.id,
                    golden_set_id=plan.golden.id,
                    context=plan.context,
                    # a run scored on another taxonomy's labels is not a plain run
                    absent=() if view is not None else (VIEW_KEY,),
                )
                if earlier is not None:
                    return ScoredRun(earlier, plan.version, plan.golden, reused=True)
        # No transaction stays open while the cases run (that may take minutes).
        started = datetime.now(UTC)
        scores = await _score(plan, settings, url, k, progress)
        async with async_session_scope(sessions) as session:
            row = await repository.add_eval_run(
                session,
                agent_version_id=plan.version.id,
                golden_set_id=plan.golden.id,
                k=k,
                n_cases=len(plan.cases),
                context=plan.context,
                created_by=created_by,
                started_at=started,
                finished_at=datetime.now(UTC),
                **scores,
            )
            return ScoredRun(row, plan.version, plan.golden, reused=False)
    finally:
        await engine.dispose()
