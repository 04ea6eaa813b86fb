"""The whole system as an operator runs it, with its own Postgres and Redis to break.

The fault tests stop and restart the database and the broker, and fill the data directory's
disk, so they cannot share the test run's servers: the stack starts a private embedded Postgres
and Redis in its own data directory (a small tmpfs when the tests may mount one), then
``ticketwatch serve``, ``worker`` and ``beat`` as real processes on it.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from redis.asyncio import Redis

from agent import migrate
from agent.datasets.banking77 import labelled_records
from agent.embed import get_embedder
from agent.embedded.manager import EmbeddedServices
from agent.services.control import ControlPlane
from agent.services.operators import Actor, move_label
from agent.taxonomy import load_taxonomy
from tests.asyncdb import session_for
from tests.conftest import TEST_POSTGRES_OPTIONS
from tests.e2e.processes import Background
from tests.factories import stratified
from tests.live import AgentSetup, free_port, set_up_agent, settings_for

WINDOW_S = 10  # the monitor's window in these tests
GRACE_S = 3  # beat schedules a window this long after it closes
DATA_DIR_MIB = 640  # the tmpfs: the cluster, Redis, the embedding model and headroom


@dataclass
class Stack:
    """A running system: its servers, its processes and what a client needs."""

    data_dir: Path
    logs: Path
    services: EmbeddedServices
    database_url: str
    redis_url: str
    setup: AgentSetup
    tmpfs: bool
    env: dict[str, str] = field(default_factory=dict)
    api_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    processes: dict[str, Background] = field(default_factory=dict)
    restarted: list[str] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start_processes(self) -> None:
        ready = {
            "api": f"{self.api_url}/health",
            "worker": f"http://127.0.0.1:{self.metrics_port}/metrics",
        }
        args = {
            "api": ["serve", "--port", str(self.api_port)],
            "worker": ["worker", "--concurrency", "1", "--metrics-port", str(self.metrics_port)],
            "beat": ["beat"],
        }
        for name, command in args.items():
            log = self.logs / f"{name}.log"
            process = Background(command, env=self.env, log=log, ready_url=ready.get(name))
            self.processes[name] = process.start()

    def stop_processes(self) -> None:
        for process in reversed(self.processes.values()):
            process.stop()

    def supervise(self) -> list[str]:
        """Start again what exited, as compose's ``restart: unless-stopped`` does; the names
        (also kept in ``restarted``)."""
        exited = [n for n, p in self.processes.items() if p.proc and p.proc.poll() is not None]
        for name in exited:
            self.processes[name].start()
        self.restarted.extend(exited)
        return exited

    def ready(self) -> bool:
        """The API answers ``/ready`` with every check passing (Redis included)."""
        try:
            r = httpx.get(f"{self.api_url}/ready", timeout=5)
        except httpx.HTTPError:
            return False
        return r.status_code == 200 and r.json().get("status") == "ready"

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            assert time.monotonic() < deadline, f"the stack is not ready after {timeout_s}s"
            time.sleep(0.25)

    def promote(self, semver: str) -> None:
        """Move ``production`` and tell every API process (the Redis epoch)."""

        async def body() -> None:
            async with session_for(self.database_url) as session:
                await move_label(
                    session, label="production", semver=semver, actor=Actor("faults", "admin")
                )
            redis = Redis.from_url(self.redis_url)
            await ControlPlane(None, redis).changed()  # type: ignore[arg-type]
            await redis.aclose()

        asyncio.run(body())


def process_env(*, database_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TICKETWATCH_DATA_DIR": str(data_dir),
        "TICKETWATCH_EMBEDDED_AUTOSTART": "false",
        "TICKETWATCH_LOG_LEVEL": "INFO",
        "TICKETWATCH_LLM_API_KEY": "faults",
        # a ticket a crash or an outage left undecided is finished within seconds
        "TICKETWATCH_RECONCILE_INTERVAL_S": "1",
        "TICKETWATCH_RECONCILE_AFTER_S": "5",
        "TICKETWATCH_MONITOR_WINDOW_SIZES": f"{WINDOW_S}s",
        "TICKETWATCH_MONITOR_SEGMENTS": "",
        "TICKETWATCH_MONITOR_WINDOW_GRACE_S": str(GRACE_S),
        "TICKETWATCH_MONITOR_MIN_TICKETS": "5",
        "TICKETWATCH_MONITOR_CALIBRATION_REPLICATES": "100",
        # a killed worker's window is scheduled again 40 s on: inside beat's catch-up of 8
        # windows (80 s), and far longer than a window takes here, so none is computed twice
        "TICKETWATCH_MONITOR_REQUEUE_AFTER_S": "40",
    }


@contextmanager
def data_directory() -> Iterator[tuple[Path, bool]]:
    """A fresh data directory, on a tmpfs of its own when mounting one is allowed (root), so
    that a test can fill its disk; whether it is one."""
    path = Path(tempfile.mkdtemp(prefix="ticketwatch-faults-"))
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={DATA_DIR_MIB}m,mode=0755", "tmpfs", str(path)],
            capture_output=True,
        ).returncode
        == 0
    )
    try:
        yield path, mounted
    finally:
        if mounted:
            subprocess.run(["umount", "--lazy", str(path)], capture_output=True)
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def running_stack(logs: Path, *, per_queue: int = 20) -> Iterator[Stack]:
    """Servers up, schema migrated, history loaded, a knn version in production, a tenant,
    then API, worker and beat running; everything stopped and removed at the end."""
    with data_directory() as (data_dir, tmpfs):
        services = EmbeddedServices(data_dir, postgres_options=TEST_POSTGRES_OPTIONS)
        records = services.up()
        try:
            database_url, redis_url = records["postgres"].url, records["redis"].url
            migrate.upgrade(database_url)
            settings = settings_for(
                database_url=database_url, redis_url=redis_url, data_dir=data_dir
            )
            history = stratified(labelled_records("train", load_taxonomy("banking77")), per_queue)
            setup = set_up_agent(settings, history, get_embedder(settings))
            stack = Stack(
                data_dir=data_dir,
                logs=logs,
                services=services,
                database_url=database_url,
                redis_url=redis_url,
                setup=setup,
                tmpfs=tmpfs,
                env=process_env(database_url=database_url, redis_url=redis_url, data_dir=data_dir),
            )
            try:
                stack.start_processes()
                stack.wait_ready()
                yield stack
            finally:
                stack.stop_processes()
        finally:
            services.down()
