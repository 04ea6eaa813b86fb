"""Starting ticketwatch's own commands as child processes, the way an operator would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The test's environment, this checkout first on the path, plus ``extra``."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def ticketwatch(args: list[str], *, env: dict[str, str], timeout_s: float = 300) -> str:
    """Run one ``ticketwatch`` command to completion; its stdout (fails on a non-zero exit)."""
    done = subprocess.run(
        [sys.executable, "-m", "agent", *args],
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=ROOT,
    )
    assert done.returncode == 0, f"ticketwatch {args}: {done.returncode}\n{done.stderr[-3000:]}"
    return done.stdout


class Background:
    """``ticketwatch ARGS`` as a child process that a test can start, SIGKILL and start again;
    each start appends to ``log``."""

    def __init__(
        self, args: list[str], *, env: dict[str, str], log: Path, ready_url: str | None = None
    ) -> None:
        self.args, self.env, self.log, self.ready_url = args, env, log, ready_url
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Background:
        """Start it; with ``ready_url``, return once that answers 200."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agent", *self.args],
                env=child_env(self.env),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        if self.ready_url:
            try:
                _wait_ready(self.proc, self.ready_url, self.log)
            except RuntimeError:
                self.kill()
                raise
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, exactly like a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, a graceful stop (SIGKILL after 30 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


@contextmanager
def running(
    args: list[str], *, env: dict[str, str], log: Path, ready_url: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``ticketwatch ARGS`` in the background until the block ends (then SIGTERM, a graceful
    stop). With ``ready_url``, the block starts once it answers 200."""
    log.unlink(missing_ok=True)
    process = Background(args, env=env, log=log, ready_url=ready_url).start()
    try:
        assert process.proc is not None
        yield process.proc
    finally:
        process.stop()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}:\n{tail(log)}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout_s}s:\n{tail(log)}")


def tail(log: Path, chars: int = 4000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""
