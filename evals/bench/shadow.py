"""``ticketwatch bench shadow``: what a shadow at 100% costs production's latency.

The real API and a real worker on a scratch database with history; a knn production version and
a knn shadow version. Rounds alternate, over fresh tickets: the shadow off, then at 100%; the
ratio is production's p50 latency (client-observed) with the shadow on over off, both measured
in this run, so a slow spell of a shared machine falls on both sides. By default the worker
shares the API's CPUs, so its CPU is part of what the ratio measures; ``split_cpus`` pins the API
and this client to one half of the CPUs and the worker to the other (Postgres and Redis float),
as where the worker has machines of its own.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker

from agent.config import Settings, get_settings
from agent.db import async_session_scope, make_async_engine
from agent.embedded import resolve_database_url, resolve_redis_url
from agent.services.control import ControlPlane
from agent.services.operators import Actor, set_shadow
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy
from evals.bench.harness import (
    LoadResult,
    child_env,
    drive,
    free_port,
    prepare_agent,
    process,
    sample_texts,
    scratch_database,
    ticket_bodies,
)
from evals.bench.soak_load import drive_at_rate
from evals.repository import shadow_decision_count

ACTOR = Actor("bench", "admin")
SHADOW = "1.1.0"


def _set_shadow(url: str, settings: Settings, percent: int, *, create: bool = False) -> None:
    async def body() -> None:
        engine = make_async_engine(url, settings)
        sessions = async_sessionmaker(engine)
        redis = Redis.from_url(resolve_redis_url(settings))
        try:
            async with async_session_scope(sessions) as session:
                if create:
                    await create_version(
                        session,
                        semver=SHADOW,
                        classifier="knn",
                        taxonomy=load_taxonomy("banking77"),
                        actor=ACTOR,
                        params={"k": 9},
                        embedding_model=settings.embedding_model,
                    )
                await set_shadow(session, semver=SHADOW, percent=percent, actor=ACTOR)
            await ControlPlane(sessions, redis).changed()
        finally:
            await redis.aclose()
            await engine.dispose()

    asyncio.run(body())


def _cpu_halves() -> tuple[frozenset[int], frozenset[int]]:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise ValueError(f"split CPUs needs at least 2 CPUs, this process may use {len(cpus)}")
    half = len(cpus) // 2
    return frozenset(cpus[:half]), frozenset(cpus[half:])


@contextmanager
def _pinned(cpus: frozenset[int] | None) -> Iterator[None]:
    """This process (the load client) on ``cpus`` for the block; Postgres (started) floats."""
    if not cpus:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _send(
    url: str,
    chunk: list[dict[str, Any]],
    concurrency: int,
    rate: float | None,
    headers: dict[str, str],
) -> LoadResult:
    if rate is None:
        return drive(url, chunk, concurrency=concurrency, headers=headers)
    seconds = len(chunk) / rate
    recorder = drive_at_rate(url, lambda i: chunk[i], rate=rate, seconds=seconds, headers=headers)
    sent = recorder.requests
    return LoadResult(
        n=len(sent),
        errors=sum(not r.ok for r in sent),
        seconds=seconds,
        latencies_ms=np.asarray([r.latency_ms for r in sent if r.ok]),
    )


def run(
    *,
    n: int = 400,
    concurrency: int = 4,
    history: int = 1000,
    rounds: int = 4,
    worker: bool = True,
    split_cpus: bool = False,
    rate: float | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """``worker`` False leaves the shadow's messages queued: what the API side alone costs.
    ``rate`` sends tickets at that many per second (open loop, as customers do) instead of
    ``concurrency`` requests in flight (closed loop, as fast as the API answers)."""
    settings = settings or get_settings()
    api_cpus, worker_cpus = _cpu_halves() if split_cpus else (None, None)
    server, redis_url = resolve_database_url(settings), resolve_redis_url(settings)
    with scratch_database(server) as url:
        prepared = prepare_agent(url, settings, history=history)
        _set_shadow(url, settings, 0, create=True)
        headers = {"Authorization": f"Bearer {prepared.api_key}"}
        api_port, metrics_port = free_port(), free_port()
        env = child_env(
            url, redis_url, settings, TICKETWATCH_MONITOR_METRICS_PORT=str(metrics_port)
        )
        api = ["-m", "agent", "serve", "--port", str(api_port)]
        worker_args = ["-m", "agent", "worker", "--concurrency", "2", "--loglevel", "WARNING"]
        api_url = f"http://127.0.0.1:{api_port}"
        with (
            process(api, env=env, ready_url=f"{api_url}/ready", cpus=api_cpus),
            process(
                worker_args,
                env=env,
                ready_url=f"http://127.0.0.1:{metrics_port}",
                cpus=worker_cpus,
            )
            if worker
            else nullcontext(),
            _pinned(api_cpus),
        ):
            bodies = ticket_bodies(sample_texts(n + 2 * concurrency, seed=13), "shadow-bench")
            warm, rest = bodies[: 2 * concurrency], bodies[2 * concurrency :]
            drive(f"{api_url}/v1/tickets", warm, concurrency=concurrency, headers=headers)
            off: list[LoadResult] = []
            on: list[LoadResult] = []
            parts = np.array_split(np.arange(len(rest)), 2 * max(1, rounds))
            for i, part in enumerate(parts):
                shadow_on = i % 2 == 1
                _set_shadow(url, settings, 100 if shadow_on else 0)
                chunk = [rest[j] for j in part]
                result = _send(f"{api_url}/v1/tickets", chunk, concurrency, rate, headers)
                (on if shadow_on else off).append(result)
            shadowed_expected = sum(len(p) for i, p in enumerate(parts) if i % 2 == 1)
            # runs still queued when a round turned the shadow off are skipped (``not_shadow``)
            deadline = time.monotonic() + (30 if worker else 0)
            while shadow_decision_count(url) < shadowed_expected and time.monotonic() < deadline:
                time.sleep(0.5)
            shadowed = shadow_decision_count(url)
    base, shadow = LoadResult.pooled(off), LoadResult.pooled(on)
    return {
        "latency_ratio_p50": round(shadow.percentile(50) / base.percentile(50), 4),
        "latency_ratio_mean": round(
            float(shadow.latencies_ms.mean() / base.latencies_ms.mean()), 4
        ),
        "shadow_off": base.summary(),
        "shadow_on": shadow.summary(),
        "shadow_decisions": shadowed,
        "tickets_while_on": shadowed_expected,
        "rounds_p50_ms": [
            {"off": round(a.percentile(50), 2), "on": round(b.percentile(50), 2)}
            for a, b in zip(off, on, strict=True)
        ],
        "config": {
            "n": n,
            "concurrency": concurrency,
            "history": history,
            "rounds": rounds,
            "worker": worker,
            "rate_per_s": rate,
            "cpus": {"api_and_client": sorted(api_cpus), "worker": sorted(worker_cpus)}
            if api_cpus and worker_cpus
            else "shared",
        },
    }
