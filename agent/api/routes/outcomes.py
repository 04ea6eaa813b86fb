"""``/v1/outcomes``: the final route a ticket ended with in the helpdesk."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from agent.api.deps import RuntimeDep, TenantDep
from agent.api.schemas import ErrorOut, OutcomeCreate, OutcomeRecorded
from agent.services.outcomes import OutcomeError, record_helpdesk_outcome

router = APIRouter(prefix="/v1/outcomes", tags=["outcomes"])


@router.post(
    "",
    response_model=OutcomeRecorded,
    responses={r: {"model": ErrorOut} for r in (400, 401, 404, 415, 422, 429, 503)},
)
async def record_outcome(
    payload: OutcomeCreate, runtime: RuntimeDep, tenant: TenantDep
) -> OutcomeRecorded:
    """Record the route a ticket finally took. It becomes history: the agent's neighbours and
    the monitor's disagreement signals learn from it. Recording again replaces it; a reviewer's
    verdict on the ticket is kept beside it (and returned), never replaced."""
    version = await runtime.control.production()
    try:
        async with runtime.sessions() as session, session.begin():
            result = await record_helpdesk_outcome(
                session,
                tenant_id=tenant.id,
                queue=payload.queue,
                priority=payload.priority,
                taxonomy=version.taxonomy if version else None,
                ticket_id=payload.ticket_id,
                source=payload.source,
                external_id=payload.external_id,
                recorded_at=payload.recorded_at,
            )
    except OutcomeError as exc:
        raise HTTPException(404 if exc.not_found else 422, str(exc)) from exc
    return OutcomeRecorded(
        ticket_id=result.ticket_id,
        queue=result.queue,
        priority=result.priority,
        agent_routed_to=result.agent_routed_to,
        agreed=None if result.agent_routed_to is None else result.agent_routed_to == result.queue,
        reviewer_queue=result.reviewer_route[0] if result.reviewer_route else None,
        reviewer_priority=result.reviewer_route[1] if result.reviewer_route else None,
    )
