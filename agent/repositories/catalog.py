"""Taxonomies, agent versions and their labels."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from agent.models import AgentVersion, TaxonomyRecord, VersionLabel


async def taxonomy_by_hash(session: AsyncSession, content_hash: str) -> TaxonomyRecord | None:
    stmt = select(TaxonomyRecord).where(TaxonomyRecord.content_hash == content_hash)
    return (await session.execute(stmt)).scalar_one_or_none()


async def add_taxonomy(session: AsyncSession, **values: Any) -> TaxonomyRecord:
    row = TaxonomyRecord(**values)
    session.add(row)
    await session.flush()
    return row


async def get_taxonomy(session: AsyncSession, taxonomy_id: uuid.UUID) -> TaxonomyRecord | None:
    return await session.get(TaxonomyRecord, taxonomy_id)


async def add_version(session: AsyncSession, **values: Any) -> AgentVersion:
    row = AgentVersion(**values)
    session.add(row)
    await session.flush()
    return row


def version_with_semver(session: Session, semver: str) -> AgentVersion | None:
    """Synchronous (the monitor's commands); async callers use :func:`version_by_semver`."""
    stmt = select(AgentVersion).where(AgentVersion.semver == semver)
    return session.execute(stmt).scalar_one_or_none()


async def version_by_semver(session: AsyncSession, semver: str) -> AgentVersion | None:
    return await session.run_sync(version_with_semver, semver)


async def get_version(session: AsyncSession, version_id: uuid.UUID) -> AgentVersion | None:
    return await session.get(AgentVersion, version_id)


async def list_versions(session: AsyncSession) -> list[AgentVersion]:
    stmt = select(AgentVersion).order_by(AgentVersion.created_at.desc())
    return list((await session.execute(stmt)).scalars())


async def labels(session: AsyncSession) -> list[VersionLabel]:
    return list((await session.execute(select(VersionLabel))).scalars())


async def set_label(
    session: AsyncSession, *, label: str, version_id: uuid.UUID, canary_percent: int, actor: str
) -> None:
    values = {
        "label": label,
        "agent_version_id": version_id,
        "canary_percent": canary_percent,
        "updated_by": actor,
    }
    stmt = insert(VersionLabel).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["label"],
        set_={
            "agent_version_id": version_id,
            "canary_percent": canary_percent,
            "updated_by": actor,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    await session.execute(stmt)


async def remove_label(session: AsyncSession, label: str) -> None:
    row = await session.get(VersionLabel, label)
    if row is not None:
        await session.delete(row)
