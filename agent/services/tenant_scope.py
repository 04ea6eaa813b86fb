"""What a tenant may see of a ticket's trace.

Retrieval runs over the shared history, so the ``retrieve`` span of one tenant's ticket may name
another tenant's tickets among its neighbours. Their route and distance stay (they are the
evidence for the route the tenant got); their ticket ids do not.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import TraceSpan
from agent.repositories import tickets

RETRIEVE = "retrieve"


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _neighbour_ids(spans: Sequence[TraceSpan]) -> set[uuid.UUID]:
    ids = (
        _uuid(n.get("ticket_id"))
        for s in spans
        if s.name == RETRIEVE
        for n in s.output.get("neighbours", [])
    )
    return {i for i in ids if i is not None}


def _without(output: dict[str, Any], hidden: set[uuid.UUID]) -> dict[str, Any]:
    if not hidden or "neighbours" not in output:
        return output
    neighbours = [
        {**n, "ticket_id": None} if _uuid(n.get("ticket_id")) in hidden else n
        for n in output.get("neighbours", [])
    ]
    return {**output, "neighbours": neighbours}


async def visible_outputs(
    session: AsyncSession, *, tenant_id: uuid.UUID, spans: Sequence[TraceSpan]
) -> list[dict[str, Any]]:
    """Each span's output as ``tenant_id`` may read it (in the order of ``spans``)."""
    hidden = await tickets.of_other_tenants(session, _neighbour_ids(spans), tenant_id)
    return [_without(s.output, hidden) if s.name == RETRIEVE else s.output for s in spans]
