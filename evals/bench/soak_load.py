"""The soak's load: tickets sent at a fixed rate (open loop) for a duration, each request
recorded, and a callback at the end of every minute."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np

# Requests in flight at most: beyond this the server is far behind the rate, and more open
# requests would only measure the client's queue.
MAX_IN_FLIGHT = 256
# A request that starts this much after its slot counts as late (the client fell behind).
LATE_S = 1.0
# uvicorn closes a keep-alive connection idle for 5 s; the client lets go of idle ones sooner,
# so that it does not send a ticket down a connection the server is closing.
KEEPALIVE_S = 2.0
# A transport failure before any answer (a pooled connection reset as it was reused): the
# ticket goes again once, as a client of an idempotent API sends it; a retry, not an error.
RETRYABLE = (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)


@dataclass(frozen=True)
class Request:
    """One POST: when it was sent (seconds since the soak began), how long it took, what came
    back (status 0: no answer), and the ticket it created."""

    sent_s: float
    latency_ms: float
    status: int
    ticket_id: str | None
    late: bool
    retried: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.ticket_id is not None


@dataclass
class Recorder:
    requests: list[Request] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:300])


def period_stats(requests: Sequence[Request], start_s: float, end_s: float) -> dict[str, Any]:
    """Requests sent in ``[start_s, end_s)``: count, errors, late, p50/p99 latency (ms)."""
    chosen = [r for r in requests if start_s <= r.sent_s < end_s]
    latencies = np.asarray([r.latency_ms for r in chosen if r.ok])
    return {
        "requests": len(chosen),
        "errors": sum(not r.ok for r in chosen),
        "late": sum(r.late for r in chosen),
        "retries": sum(r.retried for r in chosen),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1) if len(latencies) else None,
        "p99_ms": round(float(np.percentile(latencies, 99)), 1) if len(latencies) else None,
    }


async def _post(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], recorder: Recorder
) -> tuple[int, str | None]:
    """(status, ticket id) of one POST; raises the transport's errors."""
    async with session.post(url, json=body) as r:
        payload = await r.json(content_type=None) if r.status < 300 else None
        if payload is None:
            recorder.error(f"{r.status}: {await r.text()}")
            return r.status, None
        return r.status, payload.get("ticket_id")


async def _send(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    *,
    slot_s: float,
    t0: float,
    recorder: Recorder,
) -> None:
    started = time.perf_counter()
    status, ticket_id, retried = 0, None, False
    for attempt in range(2):
        try:
            status, ticket_id = await _post(session, url, body, recorder)
            break
        except RETRYABLE as exc:
            if attempt == 0:
                retried = True
                continue
            recorder.error(f"{type(exc).__name__}: {exc}")
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            recorder.error(f"{type(exc).__name__}: {exc}")
            break
    latency = (time.perf_counter() - started) * 1000
    sent = started - t0
    late = sent - slot_s > LATE_S
    recorder.requests.append(Request(sent, latency, status, ticket_id, late, retried))


async def _marks(
    t0: float, marks: Sequence[float], on_mark: Callable[[float], Awaitable[None]]
) -> None:
    for at in sorted(marks):
        await asyncio.sleep(max(0.0, t0 + at - time.perf_counter()))
        await on_mark(at)


async def _drive(
    url: str,
    body_for: Callable[[int], dict[str, Any]],
    *,
    rate: float,
    seconds: float,
    headers: dict[str, str],
    marks: Sequence[float],
    on_mark: Callable[[float], Awaitable[None]],
    recorder: Recorder,
) -> None:
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT, keepalive_timeout=KEEPALIVE_S)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers=headers
    ) as session:
        t0 = time.perf_counter()
        ticker = asyncio.create_task(_marks(t0, marks, on_mark))
        tasks: set[asyncio.Task[None]] = set()
        gate = asyncio.Semaphore(MAX_IN_FLIGHT)
        i = 0
        while (slot := i / rate) < seconds:
            await asyncio.sleep(max(0.0, t0 + slot - time.perf_counter()))
            await gate.acquire()
            task = asyncio.create_task(
                _send(session, url, body_for(i), slot_s=slot, t0=t0, recorder=recorder)
            )
            task.add_done_callback(lambda t: _finished(t, tasks, gate))
            tasks.add(task)
            i += 1
        await asyncio.gather(*tasks)
        await ticker


def drive_at_rate(
    url: str,
    body_for: Callable[[int], dict[str, Any]],
    *,
    rate: float,
    seconds: float,
    headers: dict[str, str],
    marks: Sequence[float] = (),
    on_mark: Callable[[float], Awaitable[None]] | None = None,
    recorder: Recorder | None = None,
) -> Recorder:
    """POST ``body_for(i)`` at ``rate`` per second for ``seconds``; ``on_mark(at)`` runs when
    each of ``marks`` (seconds since the start) is reached, requests still going out."""
    recorder = recorder if recorder is not None else Recorder()
    asyncio.run(
        _drive(
            url,
            body_for,
            rate=rate,
            seconds=seconds,
            headers=headers,
            marks=marks if on_mark else (),
            on_mark=on_mark or _nothing,
            recorder=recorder,
        )
    )
    return recorder


def _finished(
    task: asyncio.Task[None], tasks: set[asyncio.Task[None]], gate: asyncio.Semaphore
) -> None:
    tasks.discard(task)
    gate.release()


async def _nothing(at: float) -> None:
    return None


async def _closed_loop(
    url: str, bodies: Sequence[dict[str, Any]], concurrency: int, headers: dict[str, str]
) -> tuple[Recorder, float]:
    recorder = Recorder()
    pending = list(reversed(bodies))
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=KEEPALIVE_S)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers=headers
    ) as session:
        t0 = time.perf_counter()

        async def worker() -> None:
            while pending:
                slot = time.perf_counter() - t0
                await _send(session, url, pending.pop(), slot_s=slot, t0=t0, recorder=recorder)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return recorder, time.perf_counter() - t0


def drive_closed_loop(
    url: str, bodies: Sequence[dict[str, Any]], *, concurrency: int, headers: dict[str, str]
) -> tuple[Recorder, float]:
    """POST every body with ``concurrency`` in flight, as fast as the server answers: the
    requests and the seconds it took."""
    return asyncio.run(_closed_loop(url, bodies, concurrency, headers))
