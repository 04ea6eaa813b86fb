"""The login rate limit: failed attempts per (username, client) and per client, per window.

Counts live in Redis so every API process shares them. When Redis is unreachable the limit
does not fail open (a brute force would then be unlimited) nor closed (operators would be locked
out of the kill switch during an incident): each process falls back to counting in memory.
A blocked attempt is refused before the password is checked.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PREFIX = "ticketwatch:login-failures"


@dataclass(frozen=True)
class LoginLimits:
    max_failures: int
    max_failures_per_ip: int
    window_s: int


class LoginLimiter:
    """Fixed-window counters of failed logins."""

    def __init__(self, redis: Redis | None, limits: LoginLimits) -> None:
        self._redis = redis
        self.limits = limits
        self._memory: dict[str, int] = {}

    def _keys(self, username: str, client: str) -> tuple[str, str]:
        window = int(time.time() // self.limits.window_s)
        user = username.strip().lower()
        return f"{PREFIX}:{window}:u:{client}:{user}", f"{PREFIX}:{window}:ip:{client}"

    def retry_after_s(self) -> int:
        return self.limits.window_s - int(time.time()) % self.limits.window_s

    async def blocked(self, username: str, client: str) -> bool:
        """Whether this attempt must be refused without checking the password."""
        user_key, ip_key = self._keys(username, client)
        counts = await self._get(user_key, ip_key)
        return counts[0] >= self.limits.max_failures or counts[1] >= self.limits.max_failures_per_ip

    async def record_failure(self, username: str, client: str) -> None:
        keys = self._keys(username, client)
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key in keys:
                        pipe.incr(key)
                        pipe.expire(key, self.limits.window_s + 5)
                    await pipe.execute()
                return
            except (RedisError, OSError) as exc:
                log.warning("login limiter: redis unreachable, counting in memory: %s", exc)
        self._prune()
        for key in keys:
            self._memory[key] = self._memory.get(key, 0) + 1

    async def reset(self, username: str, client: str) -> None:
        """Forget the user's failures from this client after a successful login."""
        user_key, _ = self._keys(username, client)
        self._memory.pop(user_key, None)
        if self._redis is not None:
            try:
                await self._redis.delete(user_key)
            except (RedisError, OSError) as exc:
                log.warning("login limiter: could not reset %s: %s", user_key, exc)

    async def _get(self, *keys: str) -> list[int]:
        memory = [self._memory.get(k, 0) for k in keys]
        if self._redis is None:
            return memory
        try:
            values = await self._redis.mget(keys)
        except (RedisError, OSError) as exc:
            log.warning("login limiter: redis unreachable, counting in memory: %s", exc)
            return memory
        return [max(int(v or 0), m) for v, m in zip(values, memory, strict=True)]

    def _prune(self) -> None:
        current = f"{PREFIX}:{int(time.time() // self.limits.window_s)}:"
        for key in [k for k in self._memory if not k.startswith(current)]:
            del self._memory[key]
