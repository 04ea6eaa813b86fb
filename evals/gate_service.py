"""Running the gate: score (or reuse) candidate and baseline on one golden set, compare; on
the new taxonomy when the two use taxonomies that a ``taxonomy migrate`` links."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.config import Settings
from agent.db import async_session_scope, make_async_engine
from agent.embedded import resolve_database_url
from agent.models import GoldenSet
from agent.services.taxonomy_migration import mapping_between
from evals.cross_taxonomy import view_for
from evals.errors import EvalSetupError
from evals.gate import GatePolicy, GateResult, compare
from evals.golden.store import find_golden_set, load_cases
from evals.harness.runner import Progress
from evals.service import ScoredRun, ViewedCases, evaluate
from evals.versions import find_version, resolved


@dataclass(frozen=True)
class GateOutcome:
    candidate: ScoredRun
    baseline: ScoredRun
    result: GateResult


async def _golden_ref(
    settings: Settings, ref: str | None, versions: tuple[str, str]
) -> tuple[str, ViewedCases | None]:
    """Pin the golden set (latest version of a name) so both sides score the same cases; and,
    when the two versions use different taxonomies, the view both are scored under."""
    engine = make_async_engine(resolve_database_url(settings), settings)
    try:
        async with async_session_scope(async_sessionmaker(engine)) as session:
            row = await find_golden_set(session, ref)
            view = await _view(session, settings, row, versions)
            return f"{row.name}@{row.version}", view
    finally:
        await engine.dispose()


async def _view(
    session: AsyncSession, settings: Settings, golden: GoldenSet, refs: tuple[str, str]
) -> ViewedCases | None:
    rows = [await find_version(session, ref) for ref in refs]
    if rows[0].taxonomy_id == rows[1].taxonomy_id:
        return None
    taxonomies = [(await resolved(session, r)).taxonomy for r in rows]
    for old, new in ((0, 1), (1, 0)):
        mapping = await mapping_between(
            session, old_id=rows[old].taxonomy_id, new_id=rows[new].taxonomy_id
        )
        if mapping is not None:
            view, cases = view_for(
                old=taxonomies[old],
                new=taxonomies[new],
                mapping=mapping,
                cases=load_cases(golden, settings.data_dir),
                golden_taxonomy=golden.taxonomy,
            )
            return ViewedCases(view, cases)
    names = " and ".join(
        f"{r.semver} ({t.name}@{t.version})" for r, t in zip(rows, taxonomies, strict=True)
    )
    raise EvalSetupError(
        f"{names} use different taxonomies and no taxonomy migration links them: run "
        "`ticketwatch taxonomy migrate OLD NEW --map mapping.yaml` first"
    )


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
    ref, view = await _golden_ref(settings, golden_ref, (baseline, candidate))
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
                view=view,
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
    if view is not None:
        result = dataclasses.replace(
            result, notes=view.view.notes(), excluded=dict(view.view.excluded)
        )
    return GateOutcome(cand, base, result)
