"""Creating agent versions: the whole execution context, immutable once written."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent.classify.llm_factory import LLMParams
from agent.classify.prompt_template import PromptTemplateError
from agent.classify.registry import ClassifierKind, UnknownClassifierError, get_kind
from agent.config import DEFAULT_EMBEDDING_MODEL
from agent.models import AgentVersion, TaxonomyRecord
from agent.models.catalog import CLASSIFIER_CHECK
from agent.repositories import catalog
from agent.services.operators import Actor, OperatorError, audit
from agent.taxonomy import Taxonomy
from agent.version_context import (
    VersionContent,
    resolve_params,
    resolve_prompt,
    resolve_thresholds,
)

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
    embedding_model: str = DEFAULT_EMBEDDING_MODEL,
    rationale: str = "",
) -> AgentVersion:
    """Store a new version with every value it runs with written in, and its content hash.
    ``prompt_template`` is a prompt file's text (:mod:`agent.classify.prompt_template`; empty:
    the built-in prompt); ``embedding_model`` must be the one its history is embedded with."""
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
    content = _content(
        kind,
        model=model,
        fallback_model=fallback_model,
        embedding_model=embedding_model,
        prompt_template=prompt_template,
        params=params or {},
        thresholds=thresholds or {},
        taxonomy_hash=tax.content_hash,
    )
    try:
        version = await catalog.add_version(
            session,
            semver=semver,
            **content_columns(content),
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
        content_hash=content.content_hash(),
    )
    return version


def _content(kind: ClassifierKind, **values: Any) -> VersionContent:
    """The resolved content; an :class:`OperatorError` says what is wrong with the input."""
    try:
        prompt = resolve_prompt(kind, values.pop("prompt_template"))
        params = resolve_params(kind, values.pop("params"))
        if kind.model_backed:  # refuse a bad LLM parameter now, not at the first ticket
            LLMParams.model_validate({**params["llm"], "model": values["model"]})
    except (PromptTemplateError, ValidationError, ValueError) as exc:
        raise OperatorError(f"version content: {exc}") from None
    thresholds = resolve_thresholds(values.pop("thresholds"))
    return VersionContent(
        classifier=kind.name,
        prompt_template=prompt,
        params=params,
        thresholds=thresholds,
        **values,
    )


def content_columns(content: VersionContent) -> dict[str, Any]:
    """The ``agent_versions`` columns holding ``content`` (the taxonomy goes by id)."""
    return {
        "classifier": content.classifier,
        "model": content.model,
        "fallback_model": content.fallback_model,
        "embedding_model": content.embedding_model,
        "prompt_template": content.prompt_template,
        "params": content.params,
        "thresholds": content.thresholds,
        "content_hash": content.content_hash(),
    }


def stored_content(version: AgentVersion, taxonomy_hash: str) -> VersionContent:
    """A stored version's content (to hash it again, show it or diff it)."""
    return VersionContent(
        classifier=version.classifier,
        model=version.model,
        fallback_model=version.fallback_model,
        embedding_model=version.embedding_model,
        prompt_template=version.prompt_template,
        params=version.params,
        thresholds=version.thresholds,
        taxonomy_hash=taxonomy_hash,
    )
