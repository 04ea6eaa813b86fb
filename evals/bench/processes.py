"""ticketwatch's own commands as child processes of a benchmark, the way an operator runs
them: output to a log file, a graceful stop (SIGTERM) at the end."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


class ProcessError(RuntimeError):
    """A child process that exited or never became ready; the message ends with its log."""


def tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""


@contextmanager
def ticketwatch_process(
    args: list[str],
    *,
    env: dict[str, str],
    log: Path,
    ready_url: str | None = None,
    timeout_s: float = 180,
) -> Iterator[subprocess.Popen[bytes]]:
    """``ticketwatch ARGS`` in the background for the block; with ``ready_url``, the block
    starts once that answers 200."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            if ready_url:
                _wait_ready(proc, args, ready_url, log, timeout_s)
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(
    proc: subprocess.Popen[bytes], args: list[str], url: str, log: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ProcessError(
                f"`ticketwatch {' '.join(args)}` exited with {proc.returncode} ({log}):\n"
                + tail(log)
            )
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ProcessError(
        f"`ticketwatch {' '.join(args)}`: {url} did not answer in {timeout_s:.0f}s ({log}):\n"
        + tail(log)
    )
