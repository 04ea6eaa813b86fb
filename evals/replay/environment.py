"""The system a replay drives: a scratch database with history, a calibrated and promoted knn
version, a tenant, a reviewer account, and the real API in its own process."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import async_sessionmaker

from agent.classify.abstention import RoutingTarget
from agent.config import Settings
from agent.datasets.records import LabelledTicket
from agent.db import async_session_scope, make_async_engine
from agent.embed import get_bulk_embedding
from agent.embedded import resolve_database_url, resolve_redis_url
from agent.routing import DEFAULT_MIN_CONFIDENCE
from agent.services.calibration import calibrate_version
from agent.services.operators import Actor, move_label
from agent.services.tenants import create_tenant
from agent.services.versions import create_version
from agent.taxonomy import Taxonomy
from evals.bench.harness import free_port, scratch_database
from review_ui.services.users import UserRef, create_user

ACTOR = Actor("replay", "admin")
SEMVER = "1.0.0"
REVIEWER = "replay-reviewer"
HISTORY_SOURCE = "history:replay"
RATE_LIMIT_PER_MINUTE = 1_000_000  # the replay posts as fast as the API routes


@dataclass(frozen=True)
class ReplayEnv:
    """Where the replay's system lives and how to reach it."""

    database_url: str
    redis_url: str
    api_url: str
    api_key: str
    reviewer: UserRef
    settings: Settings


def load_agent(
    url: str,
    settings: Settings,
    history: Sequence[LabelledTicket],
    taxonomy: Taxonomy,
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[str, UserRef]:
    """Load history, promote a calibrated knn version with its novelty gate; a tenant's API
    key and a reviewer."""
    from agent.services.history_loader import load_history

    bulk = get_bulk_embedding(settings)
    load_history(
        url,
        history,
        source=HISTORY_SOURCE,
        embedder=bulk.embedder,
        workers=bulk.workers,
        progress=progress,
    )
    fitted = calibrate_version(
        url, taxonomy, target=RoutingTarget(), n=min(1000, len(history) // 2)
    )

    async def body() -> tuple[str, UserRef]:
        engine = make_async_engine(url, settings, application_name="ticketwatch-replay")
        try:
            async with async_session_scope(async_sessionmaker(engine)) as session:
                await create_version(
                    session,
                    semver=SEMVER,
                    classifier="knn",
                    taxonomy=taxonomy,
                    actor=ACTOR,
                    params=fitted.params.to_params(),
                    thresholds=fitted.thresholds(DEFAULT_MIN_CONFIDENCE),
                    embedding_model=settings.embedding_model,
                    rationale="replay: calibrated knn and novelty gate on the scenario's history",
                )
                await move_label(session, label="production", semver=SEMVER, actor=ACTOR)
                _, key = await create_tenant(
                    session, name="replay", actor=ACTOR, rate_limit_per_minute=RATE_LIMIT_PER_MINUTE
                )
                user = await create_user(
                    session,
                    username=REVIEWER,
                    role="reviewer",
                    password=secrets.token_urlsafe(24),
                    actor=ACTOR,
                )
                return key, UserRef.of(user)
        finally:
            await engine.dispose()

    return asyncio.run(body())


def api_env(url: str, redis_url: str, settings: Settings, review_rate: float) -> dict[str, str]:
    """The API process's environment: the scratch database and the scenario's review rate."""
    return {
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "TICKETWATCH_DATA_DIR": str(settings.data_dir),
        "TICKETWATCH_DATASETS_DIR": str(settings.datasets_dir),
        "TICKETWATCH_EMBEDDING_MODEL": settings.embedding_model,
        "TICKETWATCH_LOG_LEVEL": "WARNING",
        "TICKETWATCH_EMBEDDED_AUTOSTART": "false",
        "TICKETWATCH_REVIEW_SAMPLE_RATE": repr(review_rate),
    }


@contextmanager
def api_process(env: dict[str, str], log_path: Path, *, timeout_s: float = 180) -> Iterator[str]:
    """The real API (uvicorn) in a child process, logging to ``log_path``; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "uvicorn", "agent.api.app:create_app", "--factory"]
    args += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=log, stderr=log)
        try:
            _wait_ready(proc, f"{url}/ready", log_path, timeout_s)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], ready: str, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the API exited with {proc.returncode}: {tail}")
        try:
            if httpx.get(ready, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API did not become ready at {ready} (log: {log})")
        time.sleep(0.25)


@contextmanager
def replay_environment(
    settings: Settings,
    history: Sequence[LabelledTicket],
    taxonomy: Taxonomy,
    *,
    review_rate: float,
    log_path: Path,
    keep_database: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Iterator[ReplayEnv]:
    """Everything a replay needs, torn down afterwards (the database kept on request)."""
    server, redis_url = resolve_database_url(settings), resolve_redis_url(settings)
    with scratch_database(server, prefix="tw_replay", keep=keep_database) as url:
        key, reviewer = load_agent(url, settings, history, taxonomy, progress=progress)
        scoped = settings.model_copy(
            update={"database_url": SecretStr(url), "redis_url": SecretStr(redis_url)}
        )
        env = api_env(url, redis_url, settings, review_rate)
        with api_process(env, log_path) as api_url:
            yield ReplayEnv(url, redis_url, api_url, key, reviewer, scoped)
