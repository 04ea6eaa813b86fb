"""Declarative base and column helpers shared by every table."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

EMBEDDING_DIM = 384

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONB, uuid.UUID: UUID(as_uuid=True)}


def column_names(model: type[Base], *, without: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The table's column names in declaration order, less ``without``: the one column list
    that raw-SQL statements (the per-ticket path on psycopg) build their INSERT and SELECT
    from, so a column added to the model is not forgotten in a hand-written twin."""
    unknown = set(without) - {c.name for c in model.__table__.columns}
    if unknown:
        raise ValueError(f"{model.__tablename__} has no column {sorted(unknown)}")
    return tuple(c.name for c in model.__table__.columns if c.name not in without)


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, default=uuid.uuid4)


def created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def tstz(*, nullable: bool = False) -> Mapped[Any]:
    return mapped_column(DateTime(timezone=True), nullable=nullable)
