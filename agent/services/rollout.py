"""Comparing a candidate (shadow or canary) with production, its sequential verdict, and the
guarded rollout: a canary judged ``roll back`` stops serving (``--auto``), audited."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import AgentVersion
from agent.repositories import catalog, rollout
from agent.rollout.figures import Decided, SegmentFigures, evidence, segment_figures
from agent.rollout.sequential import Evidence, Verdict, verdict
from agent.services.operators import Actor, OperatorError, move_label, version_or_error

LABELS = ("production", "canary", "shadow")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Thresholds:
    alpha: float = 0.05
    margin: float = 0.1
    min_agreement: float = 0.8


@dataclass
class Comparison:
    candidate: str
    baseline: str
    stream: str
    since: datetime
    segments: list[SegmentFigures]
    evidence: Evidence
    verdict: Verdict
    thresholds: Thresholds = field(default_factory=Thresholds)
    rolled_back: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "baseline": self.baseline,
            "stream": self.stream,
            "since": self.since.isoformat(),
            "segments": [s.as_dict() for s in self.segments],
            "evidence": asdict(self.evidence),
            "verdict": asdict(self.verdict),
            "thresholds": asdict(self.thresholds),
            "rolled_back": self.rolled_back,
        }


async def _version(session: AsyncSession, ref: str) -> AgentVersion:
    """A semver, or the version a label points at."""
    if ref in LABELS:
        row = {r.label: r for r in await catalog.labels(session)}.get(ref)
        if row is None:
            raise OperatorError(f"no version is labelled {ref}")
        version = await catalog.get_version(session, row.agent_version_id)
        assert version is not None
        return version
    return await version_or_error(session, ref)


async def _stream_of(session: AsyncSession, version: AgentVersion) -> str:
    """The stream a candidate is judged on: the label pointing at it now, else the one it has
    decisions in (shadow first)."""
    labels = {r.label: r for r in await catalog.labels(session)}
    for stream in ("canary", "shadow"):
        row = labels.get(stream)
        if row is not None and row.agent_version_id == version.id and row.canary_percent > 0:
            return stream
    for stream in ("shadow", "canary"):
        if await rollout.first_decision_at(session, version_id=version.id, stream=stream):
            return stream
    raise OperatorError(f"{version.semver} has no canary or shadow decisions to compare")


def _decided(rows: list[dict[str, Any]]) -> list[Decided]:
    return [Decided(**row) for row in rows]


async def compare_versions(
    session: AsyncSession,
    *,
    candidate: str,
    baseline: str = "production",
    stream: str | None = None,
    since: datetime | None = None,
    thresholds: Thresholds | None = None,
) -> Comparison:
    """Figures per segment and the sequential verdict of ``candidate`` against ``baseline``."""
    thresholds = thresholds or Thresholds()
    cand, base = await _version(session, candidate), await _version(session, baseline)
    if cand.id == base.id:
        raise OperatorError(f"{cand.semver} is the baseline itself")
    stream = stream or await _stream_of(session, cand)
    if stream not in ("canary", "shadow"):
        raise OperatorError("the candidate's stream is canary or shadow")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # a naive time from the command line is UTC
    start = since or await rollout.first_decision_at(session, version_id=cand.id, stream=stream)
    start = start or EPOCH
    if stream == "shadow":
        base_rows, cand_rows = await rollout.shadow_pairs(
            session, version_id=cand.id, baseline_id=base.id, since=start
        )
    else:  # comparable traffic: production's decisions over the canary's period
        base_rows = await rollout.served(
            session, version_id=base.id, stream="production", since=start
        )
        cand_rows = await rollout.served(session, version_id=cand.id, stream="canary", since=start)
    same = stream == "shadow"
    b, c = _decided(base_rows), _decided(cand_rows)
    seen = evidence(b, c, same_tickets=same)
    judged = verdict(
        seen,
        alpha=thresholds.alpha,
        margin=thresholds.margin,
        min_agreement=thresholds.min_agreement,
    )
    segments = segment_figures(b, c, same_tickets=same)
    return Comparison(cand.semver, base.semver, stream, start, segments, seen, judged, thresholds)


async def guard_canary(session: AsyncSession, comparison: Comparison, *, actor: Actor) -> bool:
    """Stop the canary (0%) when the comparison says ``roll back`` and the canary label still
    serves the candidate; audited as ``version.canary_rollback`` with the verdict. True if
    it did."""
    if comparison.verdict.action != "roll back" or comparison.stream != "canary":
        return False
    row = {r.label: r for r in await catalog.labels(session)}.get("canary")
    version = await catalog.version_by_semver(session, comparison.candidate)
    if row is None or version is None or row.agent_version_id != version.id:
        return False
    if row.canary_percent == 0:
        return False
    await move_label(
        session,
        label="canary",
        semver=comparison.candidate,
        actor=actor,
        canary_percent=0,
        action="version.canary_rollback",
        previous_percent=row.canary_percent,
        verdict=comparison.verdict.reason,
        e_worse=comparison.verdict.e_worse,
        e_low_agreement=comparison.verdict.e_low_agreement,
    )
    comparison.rolled_back = True
    return True


async def guard_serving_canary(
    session: AsyncSession, *, actor: Actor, thresholds: Thresholds | None = None
) -> Comparison | None:
    """The guarded rollout's step: judge the canary now serving, stop it on ``roll back``;
    ``None`` when no canary serves anyone."""
    row = {r.label: r for r in await catalog.labels(session)}.get("canary")
    if row is None or row.canary_percent == 0:
        return None
    result = await compare_versions(
        session, candidate="canary", stream="canary", thresholds=thresholds
    )
    await guard_canary(session, result, actor=actor)
    return result


__all__ = [
    "Comparison",
    "Thresholds",
    "compare_versions",
    "guard_canary",
    "guard_serving_canary",
]
