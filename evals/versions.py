"""Which agent version an eval scores: a semver, or what a label points at."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agent.graph.state import ResolvedVersion
from agent.models import AgentVersion
from agent.models.catalog import LABELS
from agent.repositories import catalog
from agent.taxonomy import Taxonomy
from evals.errors import EvalSetupError

EVAL_LABEL = "eval"


async def find_version(session: AsyncSession, ref: str) -> AgentVersion:
    """``ref`` is a semver (``1.2.0``) or a label (``production``, ``canary``, ``shadow``)."""
    if ref in LABELS:
        label = {row.label: row for row in await catalog.labels(session)}.get(ref)
        if label is None:
            raise EvalSetupError(
                f"no version is labelled {ref}: promote one with `ticketwatch versions promote`"
            )
        row = await catalog.get_version(session, label.agent_version_id)
    else:
        row = await catalog.version_by_semver(session, ref)
    if row is None:
        raise EvalSetupError(f"no agent version {ref!r} (see `ticketwatch versions list`)")
    return row


async def resolved(session: AsyncSession, row: AgentVersion) -> ResolvedVersion:
    """The version as the graph sees it, under the ``eval`` label."""
    tax = await catalog.get_taxonomy(session, row.taxonomy_id)
    assert tax is not None, f"version {row.semver} points at a missing taxonomy"
    return ResolvedVersion(
        id=str(row.id),
        semver=row.semver,
        label=EVAL_LABEL,
        classifier=row.classifier,
        model=row.model,
        fallback_model=row.fallback_model,
        prompt_template=row.prompt_template,
        embedding_model=row.embedding_model,
        content_hash=row.content_hash,
        params=row.params,
        thresholds=row.thresholds,
        taxonomy=Taxonomy.model_validate(tax.definition),
    )
