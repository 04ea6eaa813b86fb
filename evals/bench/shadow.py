"""``ticketwatch bench shadow``: what a shadow at 100% costs production's latency.

The real API and a real worker on a scratch database with history; a knn production version and
a knn shadow version. Rounds alternate, over fresh tickets: the shadow off, then at 100%; the
ratio is production's p50 latency (client-observed) with the shadow on over off, both measured
in this run, so a slow spell of a shared machine falls on both sides. The worker runs on the
same machine as the API here: its CPU is part of what the ratio measures.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import nullcontext
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
    drive,
    free_port,
    prepare_agent,
    process,
    sample_texts,
    scratch_database,
    ticket_bodies,
)
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


def _env(url: str, settings: Settings, redis_url: str, metrics_port: int) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "TICKETWATCH_DATA_DIR": str(settings.data_dir),
        "TICKETWATCH_LOG_LEVEL": "WARNING",
        "TICKETWATCH_EMBEDDED_AUTOSTART": "false",
        "TICKETWATCH_MONITOR_METRICS_PORT": str(metrics_port),
    }


def run(
    *,
    n: int = 400,
    concurrency: int = 4,
    history: int = 1000,
    rounds: int = 4,
    worker: bool = True,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """``worker`` False leaves the shadow's messages queued: what the API side alone costs."""
    settings = settings or get_settings()
    server, redis_url = resolve_database_url(settings), resolve_redis_url(settings)
    with scratch_database(server) as url:
        prepared = prepare_agent(url, settings, history=history)
        _set_shadow(url, settings, 0, create=True)
        headers = {"Authorization": f"Bearer {prepared.api_key}"}
        api_port, metrics_port = free_port(), free_port()
        env = _env(url, settings, redis_url, metrics_port)
        api = ["-m", "agent", "serve", "--port", str(api_port)]
        worker_args = ["-m", "agent", "worker", "--concurrency", "2"]
        api_url = f"http://127.0.0.1:{api_port}"
        with (
            process(api, env=env, ready_url=f"{api_url}/ready"),
            process(worker_args, env=env, ready_url=f"http://127.0.0.1:{metrics_port}")
            if worker
            else nullcontext(),
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
                result = drive(
                    f"{api_url}/v1/tickets", chunk, concurrency=concurrency, headers=headers
                )
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
        },
    }
