"""A small ``bench routing`` end to end: the real API process, the model stub, the bare
endpoint, alternating overhead rounds, and every figure the issue asks for."""

from __future__ import annotations

import pytest

from agent.config import Settings
from evals.bench.routing import run
from tests.conftest import Servers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # starts API processes


def test_a_small_routing_benchmark_reports_every_figure(servers: Servers) -> None:
    settings = Settings(
        database_url=servers.database("postgres"),
        redis_url=servers.redis_url,
        data_dir=servers.data_dir,
        embedded_autostart=False,
    )
    result = run(
        n=40,
        concurrency=4,
        stub_ms=50.0,
        stub_n=48,
        stub_concurrency=2,
        history=150,
        rounds=2,
        settings=settings,
    )
    assert {"tickets_per_s", "p50_ms", "p95_ms", "p99_ms", "overhead_ratio"} <= set(result)
    assert result["knn"]["n"] == 40 and result["knn"]["errors"] == 0
    # the warm-up tickets (twice the concurrency) are not timed; both sides see the same rest
    assert result["stub_agent"]["n"] == result["stub_bare"]["n"] == 44
    assert result["stub_agent"]["errors"] == result["stub_bare"]["errors"] == 0
    # both sides wait for the 50 ms stub; the agent does more on top
    assert result["stub_bare"]["p50_ms"] >= 50.0
    assert result["overhead_ratio"] > 1.0
    assert result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
    assert result["config"]["rounds"] == 2
