"""Taxonomies, immutable agent versions, and the labels that point at them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agent.classify.registry import check_sql
from agent.models.base import Base, created_at, uuid_pk

LABELS = ("production", "canary", "shadow")
# The CHECK naming the registered classifier kinds (kept in step: migrations/classifier_kinds.py)
CLASSIFIER_CHECK = "ck_agent_versions_classifier"


class TaxonomyRecord(Base):
    """A taxonomy version as stored (the YAML's content, identified by its hash).
    Append-only: a trigger rejects UPDATE/DELETE."""

    __tablename__ = "taxonomies"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    definition: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = created_at()


class TaxonomyMigration(Base):
    """History relabelled from one taxonomy version to the next (``taxonomy migrate``), by the
    mapping stored here. One row per (from, to, mapping): a refined mapping adds a row."""

    __tablename__ = "taxonomy_migrations"
    __table_args__ = (UniqueConstraint("from_taxonomy_id", "to_taxonomy_id", "mapping_hash"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    from_taxonomy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("taxonomies.id"))
    to_taxonomy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("taxonomies.id"), index=True)
    mapping: Mapped[dict[str, Any]]
    mapping_hash: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at()


class AgentVersion(Base):
    """The whole execution context of the agent (every value it runs with, defaults written
    in), content-hashed. Append-only: a trigger rejects UPDATE/DELETE.
    ``classifier`` is a registered kind (:mod:`agent.classify.kinds`); the database checks it."""

    __tablename__ = "agent_versions"
    __table_args__ = (CheckConstraint(check_sql(), name="classifier"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    semver: Mapped[str] = mapped_column(String(50), unique=True)
    classifier: Mapped[str] = mapped_column(String(20))
    model: Mapped[str | None] = mapped_column(String(200))
    fallback_model: Mapped[str | None] = mapped_column(String(200))
    prompt_template: Mapped[str] = mapped_column(default="")
    embedding_model: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    taxonomy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("taxonomies.id"))
    author: Mapped[str] = mapped_column(String(100))
    rationale: Mapped[str] = mapped_column(default="")
    # SHA-256 of what the version runs with (agent.version_context.VersionContent)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = created_at()


class VersionLabel(Base):
    """production / canary / shadow → a version. Moving a label is a rollout or a rollback."""

    __tablename__ = "version_labels"
    __table_args__ = (
        CheckConstraint(f"label IN {LABELS!r}", name="label"),
        CheckConstraint("canary_percent BETWEEN 0 AND 100", name="canary_percent"),
    )

    label: Mapped[str] = mapped_column(String(20), primary_key=True)
    agent_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agent_versions.id"))
    canary_percent: Mapped[int] = mapped_column(SmallInteger, default=0)
    updated_at: Mapped[datetime] = created_at()
    updated_by: Mapped[str] = mapped_column(String(100))
