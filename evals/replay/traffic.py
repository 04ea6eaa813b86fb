"""Posting a window's tickets to the real API (``POST /v1/tickets``) and helpdesk outcomes
(``POST /v1/outcomes``), at a fixed concurrency, retrying only what the API says to retry."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from evals.replay.stream import StreamTicket

SOURCE = "replay"
RETRY_STATUSES = (429, 503)
MAX_ATTEMPTS = 8


class PostError(RuntimeError):
    """The API refused a ticket or an outcome for good; the message has its answer."""


@dataclass(frozen=True, slots=True)
class Routed:
    """What the API answered for one ticket."""

    ticket: StreamTicket
    ticket_id: uuid.UUID
    queue: str | None
    priority: str | None
    routed_to: str
    mode: str


def ticket_body(ticket: StreamTicket) -> dict[str, Any]:
    """The JSON the replay posts for a ticket: its text, at its simulated arrival time."""
    return {
        "source": SOURCE,
        "external_id": ticket.external_id,
        "body": ticket.text,
        "channel": ticket.channel,
        "customer_id": ticket.customer_id,
        "received_at": ticket.received_at.isoformat(),
    }


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> dict[str, Any]:
    delay = 0.2
    for _ in range(MAX_ATTEMPTS):
        async with session.post(url, json=body) as response:
            if response.status in RETRY_STATUSES:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            payload = await response.json(content_type=None)
            if response.status >= 300:
                raise PostError(f"POST {url} answered {response.status}: {payload}")
            return dict(payload)
    raise PostError(f"POST {url} kept answering {RETRY_STATUSES} after {MAX_ATTEMPTS} attempts")


async def _post_all(
    url: str,
    api_key: str,
    bodies: Sequence[dict[str, Any]],
    concurrency: int,
    advance: Callable[[int], None] | None,
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = [{} for _ in bodies]
    queue = list(range(len(bodies) - 1, -1, -1))
    headers = {"Authorization": f"Bearer {api_key}"}
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        headers=headers, timeout=timeout, connector=connector
    ) as session:

        async def worker() -> None:
            while queue:
                i = queue.pop()
                results[i] = await _post(session, url, bodies[i])
                if advance:
                    advance(1)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(bodies)) or 1)))
    return results


def post_tickets(
    api_url: str,
    api_key: str,
    tickets: Sequence[StreamTicket],
    *,
    concurrency: int = 8,
    advance: Callable[[int], None] | None = None,
) -> list[Routed]:
    """Route every ticket through the API; the answers in the tickets' order."""
    bodies = [ticket_body(t) for t in tickets]
    answers = asyncio.run(_post_all(f"{api_url}/v1/tickets", api_key, bodies, concurrency, advance))
    return [
        Routed(
            ticket,
            uuid.UUID(a["ticket_id"]),
            a.get("queue"),
            a.get("priority"),
            a["routed_to"],
            a["mode"],
        )
        for ticket, a in zip(tickets, answers, strict=True)
    ]


def post_outcomes(
    api_url: str, api_key: str, routed: Sequence[Routed], *, concurrency: int = 8
) -> int:
    """Report each ticket's true route as its helpdesk outcome; how many were recorded."""
    bodies = [
        {"ticket_id": str(r.ticket_id), "queue": r.ticket.queue, "priority": r.ticket.priority}
        for r in routed
    ]
    if not bodies:
        return 0
    asyncio.run(_post_all(f"{api_url}/v1/outcomes", api_key, bodies, concurrency, None))
    return len(bodies)
