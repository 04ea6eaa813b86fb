"""Engines, sessions and the per-ticket pool. The boundary (request, task, CLI command) owns
the transaction: the scopes below commit it, nothing else in the agent does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from typing import Any

import orjson
import psycopg
from pgvector.psycopg import register_vector_async
from psycopg.types.json import set_json_dumps
from psycopg_pool import AsyncConnectionPool
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
from agent.repositories.history import configure_search


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


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, default=str).decode()
    except orjson.JSONEncodeError:
        # orjson refuses integers beyond 64 bits; JSON (and jsonb) has no such limit, and a
        # ticket's metadata may carry them. The standard library writes them exactly.
        return json.dumps(value, default=str, ensure_ascii=False)


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    await register_vector_async(conn)
    await configure_search(conn)


def make_pool(
    url: str, *, size: int, statement_timeout_ms: int, wait_timeout_s: float
) -> AsyncConnectionPool:
    """The per-ticket path's pool: autocommit psycopg connections with pgvector registered and
    server-side prepared statements (open it before use). Waiting longer than
    ``wait_timeout_s`` for a connection raises ``PoolTimeout`` (a 503)."""
    set_json_dumps(_dumps)
    return AsyncConnectionPool(
        url,
        min_size=min(4, size),
        max_size=size,
        open=False,
        configure=_configure,
        timeout=wait_timeout_s,
        kwargs={
            "autocommit": True,
            "application_name": "ticketwatch-api",
            "options": f"-c statement_timeout={statement_timeout_ms}",
            "prepare_threshold": 2,
        },
    )
