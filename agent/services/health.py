"""What the readiness checks ask of the stores."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.repositories import status


async def ping_database(*, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Raises when the database does not answer a round trip."""
    async with sessions() as session:
        await status.ping(session)
