"""What the readiness checks and the queue-depth gauges ask of the stores."""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.repositories import status


async def ping_database(*, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Raises when the database does not answer a round trip."""
    async with sessions() as session:
        await status.ping(session)


# The Celery queue of the monitor's tasks (windows, actions, webhooks); its worker reads it.
MONITOR_QUEUE = "monitor"
# Celery's Redis transport keeps a queue's prioritised messages in sibling lists.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


async def monitor_tasks_waiting(redis: Redis) -> int:
    """Monitor tasks in the broker that no worker has taken yet."""
    lengths = [await redis.llen(MONITOR_QUEUE + suffix) for suffix in _PRIORITY_SUFFIXES]
    return int(sum(lengths))


async def reviews_waiting(*, sessions: async_sessionmaker[AsyncSession]) -> int:
    """Decisions in the review queue that no reviewer has reviewed yet."""
    async with sessions() as session:
        return await status.open_reviews(session)
