"""Running the gate: score (or reuse) candidate and baseline on one golden set, compare."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from agent.config import Settings
from agent.db import async_session_scope, make_async_engine
from agent.embedded import resolve_database_url
from evals.gate import GatePolicy, GateResult, compare
from evals.golden.store import find_golden_set
from evals.harness.runner import Progress
from evals.service import ScoredRun, evaluate


@dataclass(frozen=True)
class GateOutcome:
    candidate: ScoredRun
    baseline: ScoredRun
    result: GateResult


async def _golden_ref(settings: Settings, ref: str | None) -> str:
    """Pin the golden set (latest version of a name) so both sides score the same cases."""
    engine = make_async_engine(resolve_database_url(settings), settings)
    try:
        async with async_session_scope(async_sessionmaker(engine)) as session:
            row = await find_golden_set(session, ref)
            return f"{row.name}@{row.version}"
    finally:
        await engine.dispose()


async def run_gate(
    settings: Settings,
    *,
    candidate: str,
    baseline: str = "production",
    golden_ref: str | None = None,
    k: int = 1,
    policy: GatePolicy,
    created_by: str,
    fresh: bool = False,
    progress: Progress | None = None,
) -> GateOutcome:
    """Score both versions (reusing stored runs unless ``fresh``) and compare them."""
    ref = await _golden_ref(settings, golden_ref)
    runs = []
    for version in (baseline, candidate):
        runs.append(
            await evaluate(
                settings,
                version_ref=version,
                golden_ref=ref,
                k=k,
                created_by=created_by,
                reuse=not fresh,
                progress=progress,
            )
        )
    base, cand = runs
    result = compare(
        candidate=cand.run.metrics,
        candidate_segments=cand.run.per_segment,
        baseline=base.run.metrics,
        baseline_segments=base.run.per_segment,
        policy=policy,
    )
    return GateOutcome(cand, base, result)
