"""An async session on a test database, committed at the end of the block."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from agent.db import sqlalchemy_url


@asynccontextmanager
async def session_for(url: str) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            async with session.begin():
                yield session
    finally:
        await engine.dispose()
