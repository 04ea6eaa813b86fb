"""Creating agent versions: the whole execution context, immutable once written."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent.classify.registry import UnknownClassifierError, get_kind
from agent.models import AgentVersion, TaxonomyRecord
from agent.models.catalog import CLASSIFIER_CHECK
from agent.repositories import catalog
from agent.services.operators import Actor, OperatorError, audit
from agent.taxonomy import Taxonomy

SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")


async def register_taxonomy(session: AsyncSession, taxonomy: Taxonomy) -> TaxonomyRecord:
    """Store a taxonomy version once (identified by its content hash)."""
    existing = await catalog.taxonomy_by_hash(session, taxonomy.content_hash)
    if existing is not None:
        return existing
    return await catalog.add_taxonomy(
        session,
        name=taxonomy.name,
        version=taxonomy.version,
        content_hash=taxonomy.content_hash,
        definition=taxonomy.model_dump(mode="json"),
    )


async def create_version(
    session: AsyncSession,
    *,
    semver: str,
    classifier: str,
    taxonomy: Taxonomy,
    actor: Actor,
    params: dict[str, Any] | None = None,
    thresholds: dict[str, Any] | None = None,
    model: str | None = None,
    fallback_model: str | None = None,
    prompt_template: str = "",
    rationale: str = "",
) -> AgentVersion:
    if not SEMVER.match(semver):
        raise OperatorError(f"version {semver!r} is not a semantic version like 1.2.0")
    try:
        kind = get_kind(classifier)
    except UnknownClassifierError as exc:
        raise OperatorError(str(exc)) from None
    if kind.model_backed and not model:
        raise OperatorError(f"the {classifier} classifier needs a model (a LiteLLM model string)")
    if await catalog.version_by_semver(session, semver) is not None:
        raise OperatorError(f"version {semver} exists already; versions are immutable")
    tax = await register_taxonomy(session, taxonomy)
    try:
        version = await catalog.add_version(
            session,
            semver=semver,
            classifier=classifier,
            model=model,
            fallback_model=fallback_model,
            prompt_template=prompt_template,
            params=params or {},
            thresholds=thresholds or {},
            taxonomy_id=tax.id,
            author=actor.name,
            rationale=rationale,
        )
    except IntegrityError as exc:
        if CLASSIFIER_CHECK not in str(exc.orig):
            raise
        raise OperatorError(
            f"the database does not accept classifier {classifier!r} yet: run `ticketwatch "
            "migrate` to bring its check in step with agent/classify/kinds"
        ) from None
    await audit(
        session,
        actor,
        "version.create",
        semver,
        classifier=classifier,
        model=model,
        taxonomy=f"{taxonomy.name}@{taxonomy.version}",
    )
    return version
