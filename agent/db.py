"""Engines and sessions. The boundary (request, task, CLI command) owns the transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker

from agent.config import Settings, get_settings
from agent.embedded import resolve_database_url


def sqlalchemy_url(url: str) -> str:
    """A libpq URL (``postgresql://``, ``postgres://``) as SQLAlchemy's psycopg 3 URL."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must start with postgresql:// (psycopg 3 is the driver)")


def _engine_kwargs(settings: Settings, application_name: str) -> dict[str, Any]:
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_size,
        "pool_pre_ping": True,
        "pool_recycle": 1800,
        "connect_args": {
            "application_name": application_name,
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
            "connect_timeout": 10,
        },
    }


def make_engine(url: str, settings: Settings, *, application_name: str = "ticketwatch") -> Engine:
    return create_engine(sqlalchemy_url(url), **_engine_kwargs(settings, application_name))


def make_async_engine(
    url: str, settings: Settings, *, application_name: str = "ticketwatch-api"
) -> AsyncEngine:
    return create_async_engine(sqlalchemy_url(url), **_engine_kwargs(settings, application_name))


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process's engine for sync code (CLI, Celery tasks)."""
    settings = get_settings()
    return make_engine(resolve_database_url(settings), settings)


@lru_cache(maxsize=1)
def session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error."""
    session = (factory or session_factory())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@asynccontextmanager
async def async_session_scope(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """The async twin of :func:`session_scope`, for the API."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
