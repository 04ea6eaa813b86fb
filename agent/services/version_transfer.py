"""Showing, comparing, exporting and importing agent versions (same content, same hash)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from agent.classify.prompt_template import PromptTemplate
from agent.models import AgentVersion
from agent.repositories import catalog
from agent.services.operators import Actor, OperatorError, audit
from agent.services.versions import content_columns, register_taxonomy, stored_content
from agent.taxonomy import Taxonomy
from agent.version_context import (
    HISTORY_SCOPES,
    Difference,
    VersionContent,
    differences,
    history_scope,
)

FORMAT = "ticketwatch-version/1"


async def version_document(session: AsyncSession, semver: str) -> dict[str, Any]:
    """Everything about a version: who and why, its content, its taxonomy and its hash."""
    version = await _version(session, semver)
    tax = await catalog.get_taxonomy(session, version.taxonomy_id)
    assert tax is not None
    content = stored_content(version, tax.content_hash)
    return {
        "format": FORMAT,
        "semver": version.semver,
        "content_hash": version.content_hash,
        "author": version.author,
        "rationale": version.rationale,
        "created_at": version.created_at.isoformat(),
        "content": content.document(),
        "taxonomy": tax.definition,
    }


async def diff_versions(session: AsyncSession, old: str, new: str) -> list[Difference]:
    """Every value that differs between two versions, key by key (taxonomy included)."""
    a, b = await version_document(session, old), await version_document(session, new)
    return differences(_comparable(a), _comparable(b))


def _comparable(doc: dict[str, Any]) -> dict[str, Any]:
    content = {k: v for k, v in doc["content"].items() if k != "taxonomy_hash"}
    return {**content, "taxonomy": _by_name(doc["taxonomy"])}


def _by_name(value: Any) -> Any:
    """Lists of named items as mappings by name, so a diff names the queue that changed."""
    if isinstance(value, dict):
        return {k: _by_name(v) for k, v in value.items()}
    if (
        isinstance(value, list)
        and value
        and all(isinstance(i, dict) and "name" in i for i in value)
    ):
        return {i["name"]: _by_name({k: v for k, v in i.items() if k != "name"}) for i in value}
    return value


async def import_version(
    session: AsyncSession, document: dict[str, Any], *, actor: Actor
) -> tuple[AgentVersion, bool]:
    """Store an exported version as it was (same semver, same hash). Returns it and whether it
    was created: importing a version that is here already with the same hash changes nothing;
    a different hash under its semver, or a document whose content does not match its hash,
    is refused."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise OperatorError(f"not a ticketwatch version export (format {FORMAT} expected)")
    semver, claimed = str(document.get("semver")), str(document.get("content_hash"))
    content, taxonomy = _read(document)
    if content.content_hash() != claimed:
        raise OperatorError(
            f"version {semver}: its content does not match its hash {claimed[:12]}… "
            "(the file was changed after export)"
        )
    existing = await catalog.version_by_semver(session, semver)
    if existing is not None:
        if existing.content_hash != claimed:
            raise OperatorError(
                f"version {semver} exists here with another content "
                f"({existing.content_hash[:12]}… ≠ {claimed[:12]}…); versions are immutable"
            )
        return existing, False
    tax = await register_taxonomy(session, taxonomy)
    version = await catalog.add_version(
        session,
        semver=semver,
        **content_columns(content),
        taxonomy_id=tax.id,
        author=str(document.get("author", actor.name)),
        rationale=str(document.get("rationale", "")),
    )
    await audit(session, actor, "version.import", semver, content_hash=claimed)
    return version, True


def _read(document: dict[str, Any]) -> tuple[VersionContent, Taxonomy]:
    try:
        body = dict(document["content"])
        taxonomy = Taxonomy.model_validate(document["taxonomy"])
        prompt = body.pop("prompt")
        template = PromptTemplate.model_validate(prompt).check().to_yaml() if prompt else ""
        content = VersionContent(prompt_template=template, **body)
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise OperatorError(f"the version export is malformed: {exc}") from None
    if taxonomy.content_hash != content.taxonomy_hash:
        raise OperatorError("the export's taxonomy does not match the hash its version names")
    if history_scope(content.params) not in HISTORY_SCOPES:
        raise OperatorError(
            f"the version export is malformed: history_scope {history_scope(content.params)!r} "
            f"is not one of {', '.join(HISTORY_SCOPES)}"
        )
    return content, taxonomy


async def _version(session: AsyncSession, semver: str) -> AgentVersion:
    version = await catalog.version_by_semver(session, semver)
    if version is None:
        raise OperatorError(f"no version {semver}")
    return version
