"""Running the real API for tests: a uvicorn server on a free port, and an agent set up on it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from agent.classify.abstention import RoutingTarget
from agent.classify.knn import KnnParams
from agent.config import Settings
from agent.datasets.records import LabelledTicket
from agent.embed import Embedder
from agent.services.calibration import calibrate_knn, calibrate_version
from agent.services.history_loader import load_history
from agent.taxonomy import load_taxonomy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """An ASGI app served over real HTTP by uvicorn in a background thread."""

    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass(frozen=True)
class AgentSetup:
    version: str
    api_key: str
    tenant_id: str


def settings_for(*, database_url: str, redis_url: str, data_dir: Path, **extra: object) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=data_dir,
        embedded_autostart=False,
        **extra,
    )  # type: ignore[arg-type]


def set_up_agent(
    settings: Settings,
    history: Sequence[LabelledTicket],
    embedder: Embedder,
    *,
    semver: str = "1.0.0",
    tenant: str = "tests",
    gate: bool = False,
) -> AgentSetup:
    """Load history, create and promote a calibrated knn version (with its novelty gate when
    ``gate``), create a tenant."""
    from agent.services.operators import Actor, move_label
    from agent.services.tenants import create_tenant
    from agent.services.versions import create_version
    from tests.asyncdb import session_for

    url = settings.database_url.get_secret_value()  # type: ignore[union-attr]
    taxonomy = load_taxonomy("banking77")
    if history:
        load_history(url, history, source="history:tests", embedder=embedder)
    thresholds: dict[str, object] = {"min_confidence": 0.5}
    if gate:
        fitted = calibrate_version(url, taxonomy, target=RoutingTarget(), n=min(600, len(history)))
        params, thresholds = fitted.params, fitted.thresholds(0.5)
    else:
        params = calibrate_knn(url, taxonomy, n=min(600, len(history)), k=15).params
    actor = Actor("tests", "admin")

    async def body() -> AgentSetup:
        async with session_for(url) as session:
            await create_version(
                session,
                semver=semver,
                classifier="knn",
                taxonomy=taxonomy,
                actor=actor,
                params=params.to_params(),
                thresholds=thresholds,
            )
            await move_label(session, label="production", semver=semver, actor=actor)
            row, key = await create_tenant(session, name=tenant, actor=actor)
            return AgentSetup(semver, key, str(row.id))

    return asyncio.run(body())


class ApiProcess:
    """``ticketwatch serve`` as a real process (for tests that kill and restart it)."""

    def __init__(
        self,
        *,
        database_url: str,
        redis_url: str,
        data_dir: Path,
        env: dict[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.args = list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "TICKETWATCH_DATA_DIR": str(data_dir),
            "TICKETWATCH_LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120) -> ApiProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "serve", "--port", str(self.port), *self.args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API process did not start (exit {self.proc.poll()})")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, exactly like a crash."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


__all__ = [
    "AgentSetup",
    "ApiProcess",
    "KnnParams",
    "ServerThread",
    "free_port",
    "set_up_agent",
    "settings_for",
]
