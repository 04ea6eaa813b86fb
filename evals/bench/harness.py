"""What the benchmarks share: a throwaway database with history, processes, a load driver."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import numpy as np
import psycopg
from redis.asyncio import Redis
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from agent import migrate
from agent.config import Settings
from agent.datasets.banking77 import labelled_records
from agent.datasets.records import LabelledTicket, shuffled
from agent.db import async_session_scope, make_async_engine
from agent.embed import get_bulk_embedding
from agent.embedded import resolve_redis_url
from agent.services.calibration import calibrate_knn
from agent.services.control import ControlPlane
from agent.services.history_loader import load_history
from agent.services.operators import Actor, move_label
from agent.services.tenants import create_tenant
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy

ACTOR = Actor("bench", "admin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@contextmanager
def scratch_database(
    server_url: str, *, prefix: str = "tw_bench", keep: bool = False
) -> Iterator[str]:
    """A new, migrated database on the configured server, dropped afterwards unless ``keep``."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = with_database(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        if not keep:
            drop_database(url)


def drop_database(url: str) -> None:
    """Drop the database ``url`` names, closing its connections."""
    name = make_url(url).database
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def history_sample(n: int, seed: int = 11) -> list[LabelledTicket]:
    return shuffled(labelled_records("train", load_taxonomy("banking77")), seed=seed)[:n]


def sample_texts(n: int, seed: int = 5) -> list[str]:
    records = shuffled(labelled_records("test", load_taxonomy("banking77")), seed=seed)
    return [records[i % len(records)].text for i in range(n)]


@dataclass(frozen=True)
class Prepared:
    api_key: str
    knn_version: str


def prepare_agent(
    url: str, settings: Settings, *, history: int, rate_limit_per_minute: int = 6000
) -> Prepared:
    """Load ``history`` Banking77 tickets, promote a calibrated knn version, add a tenant."""
    taxonomy = load_taxonomy("banking77")
    bulk = get_bulk_embedding(settings)
    load_history(
        url,
        history_sample(history),
        source="history:bench",
        embedder=bulk.embedder,
        workers=bulk.workers,
    )
    params = calibrate_knn(url, taxonomy, n=min(1000, history)).params

    async def body() -> str:
        engine = make_async_engine(url, settings)
        try:
            async with async_session_scope(async_sessionmaker(engine)) as session:
                await create_version(
                    session,
                    semver="1.0.0",
                    classifier="knn",
                    taxonomy=taxonomy,
                    actor=ACTOR,
                    params=params.to_params(),
                    embedding_model=settings.embedding_model,
                )
                await move_label(session, label="production", semver="1.0.0", actor=ACTOR)
                row, key = await create_tenant(
                    session,
                    name="bench",
                    actor=ACTOR,
                    rate_limit_per_minute=rate_limit_per_minute,
                )
                return key
        finally:
            await engine.dispose()

    return Prepared(api_key=asyncio.run(body()), knn_version="1.0.0")


def promote_new_version(url: str, settings: Settings, semver: str, **version: Any) -> None:
    """Create and promote a version, and tell the serving processes (the Redis epoch)."""

    async def body() -> None:
        engine = make_async_engine(url, settings)
        sessions = async_sessionmaker(engine)
        redis = Redis.from_url(resolve_redis_url(settings))
        try:
            async with async_session_scope(sessions) as session:
                await create_version(
                    session,
                    semver=semver,
                    taxonomy=load_taxonomy("banking77"),
                    actor=ACTOR,
                    **{"embedding_model": settings.embedding_model, **version},
                )
                await move_label(session, label="production", semver=semver, actor=ACTOR)
            await ControlPlane(sessions, redis).changed()
        finally:
            await redis.aclose()
            await engine.dispose()

    asyncio.run(body())


def child_env(url: str, redis_url: str, settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's ticketwatch processes: the scratch database, the
    shared Redis and data directory, quiet logs, no embedded services of their own; ``extra``
    adds settings (``TICKETWATCH_...`` names)."""
    return {
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "TICKETWATCH_DATA_DIR": str(settings.data_dir),
        "TICKETWATCH_LOG_LEVEL": "WARNING",
        "TICKETWATCH_EMBEDDED_AUTOSTART": "false",
        **extra,
    }


@contextmanager
def process(
    args: Sequence[str],
    *,
    env: dict[str, str],
    ready_url: str,
    timeout_s: float = 120,
    cpus: frozenset[int] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process that counts as started once ``ready_url`` answers 200.

    ``cpus`` pins it (and every process it forks) to those CPUs. Its standard error goes to a
    temporary file, not a pipe: a pipe nobody reads fills up (64 KiB of log lines) and then
    blocks the child on its next write, which stalled a worker mid-benchmark.
    """
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(
        [sys.executable, *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                stderr.seek(0)
                err = stderr.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"{args[:3]} exited with {proc.returncode}: {err}")
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{args[:3]} did not become ready at {ready_url}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        stderr.close()


@dataclass(frozen=True)
class LoadResult:
    n: int
    errors: int
    seconds: float
    latencies_ms: np.ndarray

    @property
    def per_s(self) -> float:
        return self.n / self.seconds

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q))

    @classmethod
    def pooled(cls, parts: Sequence[LoadResult]) -> LoadResult:
        """Several runs as one: counts and seconds summed, latencies together."""
        return cls(
            n=sum(p.n for p in parts),
            errors=sum(p.errors for p in parts),
            seconds=sum(p.seconds for p in parts),
            latencies_ms=np.concatenate([p.latencies_ms for p in parts]),
        )

    def summary(self) -> dict[str, float]:
        return {
            "n": self.n,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "per_s": round(self.per_s, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "mean_ms": round(float(self.latencies_ms.mean()), 2),
        }


async def _drive(
    url: str, bodies: Sequence[dict[str, Any]], concurrency: int, headers: dict[str, str]
) -> LoadResult:
    # aiohttp: a lighter client than httpx, so that the load generator takes less of the
    # machine it shares with the server it measures.
    latencies: list[float] = []
    errors = 0
    pending = list(reversed(bodies))
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers=headers
    ) as session:

        async def worker() -> None:
            nonlocal errors
            while pending:
                body = pending.pop()
                t0 = time.perf_counter()
                async with session.post(url, json=body) as r:
                    await r.read()
                    errors += r.status >= 300
                latencies.append((time.perf_counter() - t0) * 1000)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - t0
    return LoadResult(len(bodies), errors, seconds, np.asarray(latencies))


def drive(
    url: str,
    bodies: Sequence[dict[str, Any]],
    *,
    concurrency: int,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """POST every body at ``concurrency`` in flight; latency per request and throughput."""
    return asyncio.run(_drive(url, bodies, concurrency, headers or {}))


def ticket_bodies(texts: Sequence[str], prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "source": "bench",
            "external_id": f"{prefix}-{i}-{uuid.uuid4().hex[:6]}",
            "body": text,
            "customer_id": f"c{i % 500}",
        }
        for i, text in enumerate(texts)
    ]
