"""Run every golden case k times through the compiled routing graph, concurrently."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, cast

import numpy as np

from agent.budgets import NoBudgets
from agent.embed import Embedder
from agent.graph.context import AgentContext, ClassifierFactory, NeighbourStore
from agent.graph.graph import routing_graph
from agent.graph.state import ResolvedVersion, RouteState, TicketInput
from agent.graph.tracing import new_trace_id
from agent.services.classifiers import ReviewSampling
from evals.golden.cases import CHANNEL_TAG, TICKET_TAG, GoldenCase
from evals.harness.context import CapturingRecorder, FixedVersion, NoSwitches, PrecomputedEmbedder

EMBED_CHUNK = 256
CASE_NAMESPACE = uuid.UUID("5b1f6c2e-93a4-4d0e-8f59-0c7e2d4a1b63")


class Progress(Protocol):
    def start(self, *, texts: int, runs: int) -> None: ...

    def embedded(self, n: int) -> None: ...

    def routed(self, n: int) -> None: ...


@dataclass(frozen=True, slots=True)
class CaseRun:
    """What the graph decided for one run of one case."""

    case: int
    run: int
    routed_to: str
    mode: str
    queue: str | None
    priority: str | None
    confidence: float | None  # the top queue probability
    priority_confidence: float | None
    cost_usd: float
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    error: str | None
    nearest_distance: float | None


@dataclass(frozen=True)
class HarnessOutput:
    runs: list[CaseRun]
    embed_seconds: float
    route_seconds: float


def case_ticket_id(case: GoldenCase, index: int, set_hash: str) -> str:
    """The ticket's own id for cases exported from real tickets (so retrieval leaves the
    ticket out, as in production); otherwise a stable id that no stored ticket has."""
    return case.tag(TICKET_TAG) or str(uuid.uuid5(CASE_NAMESPACE, f"{set_hash}:{index}"))


async def embed_all(
    embedder: Embedder, texts: Sequence[str], progress: Progress | None
) -> dict[str, np.ndarray]:
    unique = list(dict.fromkeys(texts))
    vectors: dict[str, np.ndarray] = {}
    for start in range(0, len(unique), EMBED_CHUNK):
        chunk = unique[start : start + EMBED_CHUNK]
        rows = await asyncio.to_thread(embedder.embed, chunk)
        vectors.update(zip(chunk, rows, strict=True))
        if progress:
            progress.embedded(len(chunk))
    return vectors


def _case_run(index: int, run: int, final: RouteState) -> CaseRun:
    row = final.get("decision_row")
    assert row is not None, "the graph ended without a decision"
    c = final.get("classification")
    ok = c is not None and not c.error
    neighbours = final.get("neighbours") or []
    return CaseRun(
        case=index,
        run=run,
        routed_to=row["routed_to"],
        mode=row["mode"],
        queue=row["queue"],
        priority=row["priority"],
        confidence=row["confidence"],
        priority_confidence=c.priority_probs.get(row["priority"]) if ok and c else None,
        cost_usd=float(row["cost_usd"]),
        prompt_tokens=int(row["prompt_tokens"]),
        completion_tokens=int(row["completion_tokens"]),
        latency_ms=float(row["latency_ms"]),
        error=row["error"],
        nearest_distance=min((n.distance for n in neighbours), default=None),
    )


async def run_cases(
    cases: Sequence[GoldenCase],
    *,
    set_hash: str,
    version: ResolvedVersion,
    k: int,
    embedder: Embedder,
    history: NeighbourStore,
    classifiers: ClassifierFactory,
    concurrency: int,
    progress: Progress | None = None,
) -> HarnessOutput:
    """Every case ``k`` times through the graph; runs come back ordered by (case, run)."""
    t0 = time.perf_counter()
    if progress:
        progress.start(texts=len({c.text for c in cases}), runs=len(cases) * k)
    vectors = await embed_all(embedder, [c.text for c in cases], progress)
    t1 = time.perf_counter()
    context = AgentContext(
        switches=NoSwitches(),
        versions=FixedVersion(version),
        embedder=PrecomputedEmbedder(embedder.model_name, vectors),
        history=history,
        classifiers=classifiers,
        recorder=CapturingRecorder(),
        sampler=ReviewSampling(0.0),
        budgets=NoBudgets(),
    )
    graph = routing_graph()
    tickets = [
        TicketInput(
            ticket_id=case_ticket_id(case, i, set_hash),
            text=case.text,
            channel=case.tag(CHANNEL_TAG) or "web",
            source="eval",
            customer_id=None,
            tenant_id=None,
            received_at=datetime.now(UTC),
        )
        for i, case in enumerate(cases)
    ]
    jobs = iter([(run, i) for run in range(k) for i in range(len(cases))])
    runs: list[CaseRun] = []

    async def worker() -> None:
        for run, i in jobs:  # one shared iterator: each job is taken once
            state = RouteState(ticket=tickets[i], trace_id=new_trace_id(), spans=[])
            final = cast(RouteState, await graph.ainvoke(state, context=context))
            runs.append(_case_run(i, run, final))
            if progress:
                progress.routed(1)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(cases) * k) or 1)))
    runs.sort(key=lambda r: (r.case, r.run))
    return HarnessOutput(runs, embed_seconds=t1 - t0, route_seconds=time.perf_counter() - t1)
