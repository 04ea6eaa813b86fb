"""The portal's limits: fixed-window counts of form posts in Redis (shared by every API
process), checked before anything is stored or routed: one per client address, and one per
tenant (its per-minute rate), so a flood spread over many addresses is bounded too. When Redis
is unreachable each process counts in memory: a flood is still bounded, and real customers are
not refused."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PREFIX = "ticketwatch:portal-posts"


class SubmissionLimiter:
    def __init__(
        self, redis: Redis | None, *, max_per_window: int, window_s: int, prefix: str = PREFIX
    ) -> None:
        self._redis = redis
        self.max_per_window = max_per_window
        self.window_s = window_s
        self.prefix = prefix
        self._memory: dict[str, int] = {}

    def retry_after_s(self) -> int:
        return self.window_s - int(time.time()) % self.window_s

    async def allow(self, client: str, *, limit: int | None = None) -> bool:
        """Count one post from ``client``; False once it is over ``limit`` (default: the
        limiter's)."""
        window = f"{self.prefix}:{int(time.time() // self.window_s)}:"
        allowed = self.max_per_window if limit is None else limit
        return await self._count(window, window + client) <= allowed

    async def _count(self, window: str, key: str) -> int:
        if self._redis is not None:
            try:
                count = int(await self._redis.incr(key))
                if count == 1:
                    await self._redis.expire(key, self.window_s + 5)
                return count
            except (RedisError, OSError) as exc:
                log.warning("portal limiter: redis unreachable, counting in memory: %s", exc)
        for stale in [k for k in self._memory if not k.startswith(window)]:
            del self._memory[stale]
        self._memory[key] = self._memory.get(key, 0) + 1
        return self._memory[key]
