"""The portal's limiter on a real Redis: per key and window, a per-call limit, and counting
in memory when Redis is gone."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from review_ui.security.portal_limit import SubmissionLimiter


async def _allowed(limiter: SubmissionLimiter, client: str, n: int, **kw: int) -> list[bool]:
    return [await limiter.allow(client, **kw) for _ in range(n)]


async def _same_window(limiter: SubmissionLimiter, client: str, n: int, **kw: int) -> list[bool]:
    """``n`` posts within one window (retried once if a window boundary fell among them)."""
    for _ in range(2):
        window = int(time.time() // limiter.window_s)
        got = await _allowed(limiter, f"{client}-{window}", n, **kw)
        if int(time.time() // limiter.window_s) == window:
            break
    return got


async def test_each_key_gets_its_own_count_and_a_call_may_set_the_limit(redis_url):
    redis = Redis.from_url(redis_url)
    limiter = SubmissionLimiter(redis, max_per_window=3, window_s=3600)
    assert await _same_window(limiter, "a", 4) == [True, True, True, False]
    assert await _same_window(limiter, "b", 1) == [True]
    tenant = SubmissionLimiter(redis, max_per_window=1, window_s=3600, prefix="t")
    assert await _same_window(tenant, "acme", 3, limit=2) == [True, True, False]
    await redis.aclose()


async def test_without_redis_it_counts_in_memory():
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    limiter = SubmissionLimiter(unreachable, max_per_window=2, window_s=3600)
    assert await _same_window(limiter, "c", 3) == [True, True, False]
    await unreachable.aclose()
