"""``ticketwatch bench routing``: the agent's throughput and its overhead over the model.

1. Throughput: N tickets through the real HTTP API (knn, embedded services) at a concurrency.
2. Overhead: the same API serving an ``llm`` version whose model is a stub of fixed latency,
   against a bare FastAPI endpoint that only awaits the same stub through the same gateway;
   ``overhead_ratio`` = agent p50 / bare p50, both measured in this run, in alternating rounds
   over the same tickets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agent.config import Settings, get_settings
from agent.embedded import resolve_database_url, resolve_redis_url
from evals.bench.harness import (
    LoadResult,
    child_env,
    drive,
    free_port,
    prepare_agent,
    process,
    promote_new_version,
    sample_texts,
    scratch_database,
    ticket_bodies,
)

STUB_MODEL = "openai/stub"
# The agent and the bare endpoint take turns in this many rounds each, so that a slow spell of a
# shared machine falls on both sides of the ratio rather than on one.
OVERHEAD_ROUNDS = 4


def run(
    *,
    n: int = 2000,
    concurrency: int = 32,
    stub_ms: float = 200.0,
    stub_n: int = 400,
    stub_concurrency: int = 4,
    history: int = 3000,
    workers: int = 1,
    rounds: int = OVERHEAD_ROUNDS,
    settings: Settings | None = None,
) -> dict[str, Any]:
    settings = settings or get_settings()
    server, redis_url = resolve_database_url(settings), resolve_redis_url(settings)
    with scratch_database(server) as url:
        prepared = prepare_agent(url, settings, history=history)
        headers = {"Authorization": f"Bearer {prepared.api_key}"}
        api_port, stub_port, bare_port = free_port(), free_port(), free_port()
        api_args = [
            "-m",
            "uvicorn",
            "agent.api.app:create_app",
            "--factory",
            "--port",
            str(api_port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        api_url = f"http://127.0.0.1:{api_port}"
        stub_base = f"http://127.0.0.1:{stub_port}/v1"
        with process(
            api_args,
            env=child_env(url, redis_url, settings, TICKETWATCH_LLM_API_KEY="bench"),
            ready_url=f"{api_url}/ready",
        ):
            drive(
                f"{api_url}/v1/tickets",
                ticket_bodies(sample_texts(200), "warm"),
                concurrency=concurrency,
                headers=headers,
            )
            knn = drive(
                f"{api_url}/v1/tickets",
                ticket_bodies(sample_texts(n), "knn"),
                concurrency=concurrency,
                headers=headers,
            )
            with process(
                [
                    "-m",
                    "evals.bench.stub_model",
                    "--port",
                    str(stub_port),
                    "--delay-ms",
                    str(stub_ms),
                ],
                env={},
                ready_url=f"http://127.0.0.1:{stub_port}/health",
            ):
                promote_new_version(
                    url,
                    settings,
                    "1.1.0",
                    classifier="llm",
                    model=STUB_MODEL,
                    params={"k": 15, "llm": {"api_base": stub_base, "max_retries": 0}},
                )
                with process(
                    [
                        "-m",
                        "evals.bench.bare_app",
                        "--port",
                        str(bare_port),
                        "--model",
                        STUB_MODEL,
                        "--api-base",
                        stub_base,
                    ],
                    env={"OPENAI_API_KEY": "bench"},
                    ready_url=f"http://127.0.0.1:{bare_port}/docs",
                ):
                    agent_rounds, bare_rounds = _overhead_rounds(
                        f"{api_url}/v1/tickets",
                        f"http://127.0.0.1:{bare_port}/bare",
                        ticket_bodies(sample_texts(stub_n, seed=9), "stub"),
                        concurrency=stub_concurrency,
                        rounds=rounds,
                        headers=headers,
                    )
    agent, bare = LoadResult.pooled(agent_rounds), LoadResult.pooled(bare_rounds)
    return {
        "tickets_per_s": round(knn.per_s, 1),
        "p50_ms": round(knn.percentile(50), 2),
        "p95_ms": round(knn.percentile(95), 2),
        "p99_ms": round(knn.percentile(99), 2),
        "overhead_ratio": round(agent.percentile(50) / bare.percentile(50), 4),
        "overhead_ratio_mean": round(
            float(agent.latencies_ms.mean() / bare.latencies_ms.mean()), 4
        ),
        "knn": knn.summary(),
        "stub_agent": agent.summary(),
        "stub_bare": bare.summary(),
        "stub_rounds_p50_ms": [
            {"agent": round(a.percentile(50), 2), "bare": round(b.percentile(50), 2)}
            for a, b in zip(agent_rounds, bare_rounds, strict=True)
        ],
        "config": {
            "n": n,
            "concurrency": concurrency,
            "stub_ms": stub_ms,
            "stub_n": stub_n,
            "stub_concurrency": stub_concurrency,
            "history": history,
            "workers": workers,
            "rounds": rounds,
        },
    }


def _overhead_rounds(
    agent_url: str,
    bare_url: str,
    bodies: list[dict[str, Any]],
    *,
    concurrency: int,
    rounds: int,
    headers: dict[str, str],
) -> tuple[list[LoadResult], list[LoadResult]]:
    """Agent and bare endpoint in alternating rounds over the same tickets (a warm-up each
    first): each side's rounds."""
    warm, rest = bodies[: concurrency * 2], bodies[concurrency * 2 :]
    drive(agent_url, warm, concurrency=concurrency, headers=headers)
    drive(bare_url, warm, concurrency=concurrency)
    agent: list[LoadResult] = []
    bare: list[LoadResult] = []
    for part in np.array_split(np.arange(len(rest)), max(1, rounds)):
        chunk = [rest[i] for i in part]
        agent.append(drive(agent_url, chunk, concurrency=concurrency, headers=headers))
        bare.append(drive(bare_url, chunk, concurrency=concurrency))
    return agent, bare
