"""Bring the embedded services up and down, and resolve the URLs every process connects to."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from agent.config import Settings
from agent.embedded.postgres import EmbeddedPostgres, EmbeddedServiceError
from agent.embedded.redis import EmbeddedRedis
from agent.embedded.state import ServiceRecord, read_state, write_state

log = logging.getLogger(__name__)

SERVICES = ("postgres", "redis")


@dataclass(frozen=True)
class ServiceStatus:
    """What ``ticketwatch services status`` shows for one service."""

    name: str
    running: bool
    pid: int | None
    url: str | None
    uptime_s: float | None
    details: dict[str, object]


class EmbeddedServices:
    """The embedded Postgres and Redis of one data directory, shared by all processes.

    A file lock serialises start and stop across processes; the state file records where the
    servers listen. State left by a crash (dead pids, a stale postmaster.pid) is cleaned up on
    the next start rather than treated as an error.
    """

    def __init__(self, data_dir: Path, *, postgres_options: str = "") -> None:
        self.root = data_dir / "services"
        self.state_file = self.root / "state.json"
        self.postgres = EmbeddedPostgres(data_dir / "postgres", extra_options=postgres_options)
        self.redis = EmbeddedRedis(data_dir / "redis")

    def _lock(self) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / ".lock"), timeout=120)

    def up(self, which: tuple[str, ...] = SERVICES) -> dict[str, ServiceRecord]:
        """Start what is not running; return the records of the requested services."""
        with self._lock():
            state = self._live_state()
            for name in which:
                if name not in state:
                    t0 = time.perf_counter()
                    server = self.postgres if name == "postgres" else self.redis
                    state[name] = server.start()
                    log.info("started embedded %s in %.2fs", name, time.perf_counter() - t0)
            write_state(self.state_file, state)
            return {name: state[name] for name in which}

    def down(self) -> None:
        """Stop both servers (data is kept)."""
        with self._lock():
            self.redis.stop()
            self.postgres.stop()
            write_state(self.state_file, {})

    def status(self) -> list[ServiceStatus]:
        state = read_state(self.state_file)
        pids = {"postgres": self.postgres.running_pid(), "redis": self.redis.running_pid()}
        out = []
        for name in SERVICES:
            rec = state.get(name)
            pid = pids[name]
            alive = pid is not None and rec is not None and rec.pid == pid
            out.append(
                ServiceStatus(
                    name=name,
                    running=pid is not None,
                    pid=pid,
                    url=rec.url if alive and rec else None,
                    uptime_s=time.time() - rec.started_at if alive and rec else None,
                    details=rec.details if rec else {},
                )
            )
        return out

    def _live_state(self) -> dict[str, ServiceRecord]:
        """Recorded services whose process is still the one recorded."""
        state = read_state(self.state_file)
        pids = {"postgres": self.postgres.running_pid(), "redis": self.redis.running_pid()}
        return {n: r for n, r in state.items() if n in pids and pids[n] == r.pid}

    def url_for(self, name: str, *, autostart: bool) -> str:
        """The URL of a running service, starting it first when allowed."""
        live = self._live_state()
        if name in live:
            return live[name].url
        if not autostart:
            raise EmbeddedServiceError(
                f"the embedded {name} is not running: run `ticketwatch services up`, "
                f"or set {'DATABASE_URL' if name == 'postgres' else 'REDIS_URL'}"
            )
        return self.up((name,))[name].url


def services_for(settings: Settings) -> EmbeddedServices:
    return EmbeddedServices(settings.data_dir, postgres_options=settings.embedded_postgres_options)


def resolve_database_url(settings: Settings) -> str:
    """``DATABASE_URL`` when set, else the embedded server's (started if needed)."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return services_for(settings).url_for("postgres", autostart=settings.embedded_autostart)


def resolve_redis_url(settings: Settings) -> str:
    """``REDIS_URL`` when set, else the embedded server's (started if needed)."""
    if settings.redis_url is not None:
        return settings.redis_url.get_secret_value()
    return services_for(settings).url_for("redis", autostart=settings.embedded_autostart)
