"""``bench shadow`` end to end (the real API and worker, the shadow off then at 100%), and the
harness's child processes: pinned to CPUs, and never stalled by their own log output."""

from __future__ import annotations

import os
import textwrap

import pytest

from agent.config import Settings
from evals.bench.harness import free_port, process
from evals.bench.shadow import run
from tests.conftest import Servers

# a child that writes far more to standard error than a pipe holds, then serves HTTP
CHATTY_SERVER = textwrap.dedent(
    """
    import http.server, sys
    sys.stderr.write("x" * 300_000)
    sys.stderr.flush()
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler
    ).serve_forever()
    """
)


def test_a_child_that_logs_more_than_a_pipe_holds_still_starts_and_is_pinned() -> None:
    port = free_port()
    cpus = frozenset(sorted(os.sched_getaffinity(0))[:1])
    with process(
        ["-c", CHATTY_SERVER, str(port)],
        env={},
        ready_url=f"http://127.0.0.1:{port}/",
        timeout_s=30,
        cpus=cpus,
    ) as child:
        assert os.sched_getaffinity(child.pid) == cpus
    assert child.poll() is not None  # stopped on leaving the block


def test_a_child_that_dies_reports_its_standard_error() -> None:
    with (
        pytest.raises(RuntimeError, match="boom at start"),
        process(
            ["-c", "import sys; sys.exit('boom at start')"],
            env={},
            ready_url=f"http://127.0.0.1:{free_port()}/",
            timeout_s=30,
        ),
    ):
        pass


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="splitting CPUs needs two")
def test_a_shadow_at_100_percent_gets_one_decision_per_ticket_with_split_cpus(
    servers: Servers,
) -> None:
    settings = Settings(
        database_url=servers.database("postgres"),
        redis_url=servers.redis_url,
        data_dir=servers.data_dir,
        embedded_autostart=False,
    )
    # one round pair: shadow off, then on; nothing turns it off while its runs are queued
    result = run(n=60, history=150, rounds=1, rate=15.0, split_cpus=True, settings=settings)
    assert result["shadow_off"]["n"] == result["shadow_on"]["n"] == 30
    assert result["shadow_off"]["errors"] == result["shadow_on"]["errors"] == 0
    assert result["tickets_while_on"] == 30
    assert result["shadow_decisions"] == 30
    cpus = result["config"]["cpus"]
    assert set(cpus["api_and_client"]).isdisjoint(cpus["worker"])
    assert result["config"]["rate_per_s"] == 15.0
    assert result["latency_ratio_p50"] > 0


def test_split_cpus_needs_two(monkeypatch: pytest.MonkeyPatch) -> None:
    from evals.bench import shadow

    monkeypatch.setattr(shadow.os, "sched_getaffinity", lambda pid: {0})
    with pytest.raises(ValueError, match="at least 2 CPUs"):
        shadow._cpu_halves()
