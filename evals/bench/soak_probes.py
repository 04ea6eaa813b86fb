"""What the soak benchmark reads off the running system besides SQL: the memory of each
process tree, where Postgres and Redis run, the broker's queue. (Its SQL reads are in
:mod:`evals.repository`.)"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from sqlalchemy.engine import make_url

from evals import repository

LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}
PAGE = 4096

try:  # psutil is in the project's environment; /proc is the fallback on Linux without it
    import psutil
except ImportError:  # pragma: no cover - exercised only without psutil
    psutil = None  # type: ignore[assignment]

# What a process that exits while it is read raises.
GONE: tuple[type[Exception], ...] = (psutil.Error, OSError) if psutil is not None else (OSError,)


MB = 1024 * 1024
# A process counts as grown when its memory grew by this share and by at least this much: a
# few hundred kB of allocator slack is 10% of a 4 MB Redis.
GROWTH_FLOOR_MB = 5.0


@dataclass(frozen=True)
class Memory:
    """A process tree's memory, summed over its processes: RSS; PSS (each shared page split
    between the processes that map it) and USS (pages of one process only) where readable."""

    rss_mb: float
    pss_mb: float | None
    uss_mb: float | None
    processes: int

    @property
    def resident_mb(self) -> float:
        """What the benchmark watches for growth: a single process's RSS; for a tree
        (Postgres: the postmaster and its backends) its private memory (USS), since the
        shared buffers, a cache of a fixed size that fills as the database grows, would
        count once per backend that touched them in RSS."""
        if self.processes > 1 and self.uss_mb is not None:
            return self.uss_mb
        return self.rss_mb

    def as_dict(self) -> dict[str, Any]:
        def mb(v: float | None) -> float | None:
            return None if v is None else round(v, 1)

        return {
            "resident_mb": mb(self.resident_mb),
            "rss_mb": mb(self.rss_mb),
            "pss_mb": mb(self.pss_mb),
            "uss_mb": mb(self.uss_mb),
            "processes": self.processes,
        }


def _tree_pids(pid: int) -> list[int]:
    if psutil is not None:
        root = psutil.Process(pid)
        return [root.pid, *(c.pid for c in root.children(recursive=True))]
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        out.append(current := todo.pop())
        todo.extend(children.get(current, []))
    return out


def _rollup(pid: int) -> tuple[float, float] | None:
    """(PSS, USS) in bytes from ``/proc/PID/smaps_rollup``; None where unreadable."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    kb = {
        line.split(":")[0]: int(line.split()[1])
        for line in rollup.splitlines()[1:]
        if line.endswith(" kB")
    }
    if "Pss" not in kb:
        return None
    return kb["Pss"] * 1024.0, (kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)) * 1024.0


def _one(pid: int) -> tuple[float, float | None, float | None]:
    """(RSS, PSS, USS) of one process in bytes; PSS and USS None where unreadable."""
    if psutil is not None:
        proc = psutil.Process(pid)
        try:
            full = proc.memory_full_info()
            return float(full.rss), float(full.pss), float(full.uss)
        except psutil.AccessDenied:
            return float(proc.memory_info().rss), None, None
    rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    rolled = _rollup(pid)
    return (float(rss), *rolled) if rolled else (float(rss), None, None)


def tree_memory(pid: int) -> Memory:
    """Memory of ``pid`` and all its descendants (a process that exits meanwhile is skipped)."""
    readings = []
    for child in _tree_pids(pid):
        try:
            readings.append(_one(child))
        except GONE:
            if child == pid:
                raise
    pss = [r[1] for r in readings]
    uss = [r[2] for r in readings]
    return Memory(
        sum(r[0] for r in readings) / MB,
        None if None in pss else sum(p or 0.0 for p in pss) / MB,
        None if None in uss else sum(u or 0.0 for u in uss) / MB,
        len(readings),
    )


def sample_memory(pids: Mapping[str, int | None]) -> dict[str, Memory | None]:
    """Each named process tree's memory; None for a process not on this machine or gone."""
    out: dict[str, Memory | None] = {}
    for name, pid in pids.items():
        try:
            out[name] = tree_memory(pid) if pid else None
        except GONE:  # a process that exited: reported as missing, not a crash
            out[name] = None
    return out


def relative_growth(
    start: Mapping[str, Memory | None],
    end: Mapping[str, Memory | None],
    field: str = "resident_mb",
) -> dict[str, float | None]:
    """(end - start) / start of each process's ``field``, plus ``max`` over the processes."""
    growth: dict[str, float | None] = {}
    for name, first in start.items():
        last = end.get(name)
        a = getattr(first, field, None) if first else None
        b = getattr(last, field, None) if last else None
        growth[name] = round((b - a) / a, 4) if a and b is not None else None
    known = [g for g in growth.values() if g is not None]
    growth["max"] = max(known) if known else None
    return growth


def grown(
    start: Mapping[str, Memory | None], end: Mapping[str, Memory | None], *, share: float
) -> list[str]:
    """The processes whose resident memory grew by more than ``share`` and by more than
    ``GROWTH_FLOOR_MB``; a process missing at either end counts as grown."""
    out = []
    for name, first in start.items():
        last = end.get(name)
        if first is None or last is None:
            out.append(name)
            continue
        delta = last.resident_mb - first.resident_mb
        if delta > share * first.resident_mb and delta > GROWTH_FLOOR_MB:
            out.append(name)
    return out


def _is_local(host: str | None) -> bool:
    return (host or "") in LOCAL_HOSTS or (host or "").startswith("/")


def postgres_pid(url: str) -> int | None:
    """The postmaster's pid when the server runs on this machine (parent of our backend)."""
    if not _is_local(make_url(url).host):
        return None
    with repository.backend_pid(url) as backend:
        return _parent(backend)


def _parent(pid: int) -> int | None:
    if psutil is not None:
        try:
            parent = psutil.Process(pid).parent()
        except psutil.Error:
            return None
        return parent.pid if parent is not None else None
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def redis_pid(url: str) -> int | None:
    """The Redis server's pid when it runs on this machine (from ``INFO server``)."""
    if not _is_local(urlsplit(url).hostname):
        return None
    client = redis.Redis.from_url(url)
    try:
        pid = int(client.info("server")["process_id"])
    finally:
        client.close()
    return pid if Path(f"/proc/{pid}").exists() else None


def free_redis_db(url: str, candidates: Sequence[int] = range(1, 16)) -> str:
    """``url`` on the first empty Redis database of ``candidates``, so that this run's broker
    queue is its own (another worker on the same database would take its tasks)."""
    for db in candidates:
        candidate = urlsplit(url)._replace(path=f"/{db}").geturl()
        client = redis.Redis.from_url(candidate)
        try:
            if client.dbsize() == 0:
                return candidate
        finally:
            client.close()
    raise RuntimeError(
        f"no empty Redis database among {list(candidates)} on {urlsplit(url).netloc}: "
        "set REDIS_URL to a server or database of the benchmark's own"
    )


def flush_redis_db(url: str) -> None:
    """Empty the database a run took with :func:`free_redis_db`, for the next run."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def wait_for_drained_queue(url: str, queue: str, *, timeout_s: float) -> bool:
    """Wait until the broker holds no message of ``queue``, waiting or taken and unacked."""
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if client.llen(queue) == 0 and client.hlen("unacked") == 0:
                return True
            time.sleep(0.5)
        return False
    finally:
        client.close()
