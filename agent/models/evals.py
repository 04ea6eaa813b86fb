"""Golden datasets and the eval runs scored on them (written by the ``evals`` package only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from agent.models.base import Base, created_at, tstz, uuid_pk


class GoldenSet(Base):
    """A versioned golden dataset: its JSONL lives in the data directory, named by its hash."""

    __tablename__ = "golden_sets"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    content_hash: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(300))
    n_cases: Mapped[int]
    taxonomy: Mapped[str] = mapped_column(String(160))
    source: Mapped[str] = mapped_column(default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at()


class EvalRun(Base):
    """One agent version scored on one golden set, each case run ``k`` times."""

    __tablename__ = "eval_runs"
    __table_args__ = (
        Index("ix_eval_runs_version_golden", "agent_version_id", "golden_set_id", "finished_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agent_versions.id"))
    golden_set_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("golden_sets.id"))
    k: Mapped[int]
    n_cases: Mapped[int]
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    per_segment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What the scores depend on besides version and cases: embedding model, history size.
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # One compact row per case (first run): routed_to, queue, priority, confidence.
    predictions: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    created_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = tstz()
    finished_at: Mapped[datetime] = tstz()
