"""The soak's probes on real things: a process tree's memory (psutil and /proc agree), a
process that is gone, an empty Redis database."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import redis

from evals.bench import soak_probes
from evals.bench.soak_probes import Memory, free_redis_db, grown, relative_growth

# Its memory is settled once the child exists: it only sleeps after that.
PARENT = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"


@pytest.fixture
def tree() -> Iterator[int]:
    """A process with one child of its own."""
    proc = subprocess.Popen([sys.executable, "-c", PARENT])
    try:
        yield proc.pid
    finally:
        for child in soak_probes.psutil.Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()
        proc.wait()


def _wait_for_children(pid: int, n: int) -> None:
    proc = soak_probes.psutil.Process(pid)
    deadline = time.monotonic() + 30
    while len(proc.children(recursive=True)) < n:
        if time.monotonic() > deadline:
            raise AssertionError("the child process did not start")
        time.sleep(0.05)


def test_tree_memory_sums_a_process_and_its_children(tree: int) -> None:
    _wait_for_children(tree, 1)
    memory = soak_probes.tree_memory(tree)
    assert memory.processes == 2
    own = soak_probes.psutil.Process(tree).memory_info().rss / 2**20
    assert memory.rss_mb > own  # the child's memory is added to the parent's
    assert memory.pss_mb is not None and 0 < memory.pss_mb <= memory.rss_mb
    assert memory.uss_mb is not None and 0 < memory.uss_mb <= memory.pss_mb


def test_proc_reader_agrees_with_psutil(tree: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _wait_for_children(tree, 1)
    with_psutil = soak_probes.tree_memory(tree)
    monkeypatch.setattr(soak_probes, "psutil", None)
    from_proc = soak_probes.tree_memory(tree)
    assert from_proc.processes == with_psutil.processes == 2
    assert from_proc.rss_mb == pytest.approx(with_psutil.rss_mb, rel=0.02)
    assert from_proc.uss_mb == pytest.approx(with_psutil.uss_mb, rel=0.02)


def test_a_process_that_is_gone_is_reported_missing() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert soak_probes.sample_memory({"gone": gone.pid, "none": None}) == {
        "gone": None,
        "none": None,
    }


def test_a_tree_holds_its_private_memory_and_a_single_process_its_rss() -> None:
    assert Memory(100.0, 80.0, 60.0, 1).resident_mb == 100.0
    assert Memory(900.0, 150.0, 40.0, 12).resident_mb == 40.0
    assert Memory(900.0, None, None, 12).resident_mb == 900.0  # unreadable: RSS it is


def test_relative_growth_per_process_and_the_largest() -> None:
    start = {"api": Memory(100.0, 80.0, 70.0, 1), "pg": Memory(200.0, None, None, 3), "x": None}
    end = {"api": Memory(105.0, 81.0, 70.0, 1), "pg": Memory(180.0, None, None, 3), "x": None}
    growth = relative_growth(start, end, "rss_mb")
    assert growth == {"api": 0.05, "pg": -0.1, "x": None, "max": 0.05}
    assert relative_growth(start, end, "pss_mb") == {
        "api": 0.0125,
        "pg": None,
        "x": None,
        "max": 0.0125,
    }
    tree = {"pg": Memory(1000.0, 300.0, 100.0, 20)}
    later = {"pg": Memory(1400.0, 380.0, 104.0, 20)}  # the shared buffers filled
    assert relative_growth(tree, later) == {"pg": 0.04, "max": 0.04}


def test_grown_takes_a_share_and_a_floor_and_a_missing_process() -> None:
    start = {
        "api": Memory(500.0, None, None, 1),
        "redis": Memory(4.0, None, None, 1),
        "beat": Memory(400.0, None, None, 1),
        "gone": Memory(50.0, None, None, 1),
    }
    end = {
        "api": Memory(556.0, None, None, 1),  # +11%, 56 MB
        "redis": Memory(5.0, None, None, 1),  # +25%, but 1 MB
        "beat": Memory(430.0, None, None, 1),  # +7.5%
        "gone": None,
    }
    assert grown(start, end, share=0.10) == ["api", "gone"]


def test_free_redis_db_skips_a_database_in_use(redis_url: str) -> None:
    db = int(redis_url.rsplit("/", 1)[1])
    client = redis.Redis.from_url(redis_url)
    client.set("in-use", "1")
    with pytest.raises(RuntimeError, match="no empty Redis database"):
        free_redis_db(redis_url, candidates=[db])
    soak_probes.flush_redis_db(redis_url)
    assert free_redis_db(redis_url, candidates=[db]) == redis_url
    client.close()


def test_the_servers_pids_are_found_on_this_machine(fresh_db_url: str, redis_url: str) -> None:
    postmaster = soak_probes.postgres_pid(fresh_db_url)
    assert postmaster is not None
    process = soak_probes.psutil.Process(postmaster)
    assert "postgres" in process.name() and len(process.children()) >= 2  # its helpers
    pid = soak_probes.redis_pid(redis_url)
    assert pid is not None and "redis" in soak_probes.psutil.Process(pid).name()
    assert soak_probes.sample_memory({"pg": postmaster})["pg"] is not None
