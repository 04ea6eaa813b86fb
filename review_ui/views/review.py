"""The review queue and the ticket page with its override form."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from review_ui.deps import Reviewer, UiError, form_fields, unit_of_work, verify_csrf
from review_ui.services import queue as queue_service
from review_ui.services import review as review_service
from review_ui.services.tickets import ticket_page
from review_ui.templating import flash, render

router = APIRouter(prefix="/review", dependencies=[Depends(verify_csrf)], include_in_schema=False)
ESTIMATE_DAYS = 7


def encode_cursor(row: queue_service.Cursor) -> str:
    raw = f"{int(row.needs_review)}|{row.created_at.isoformat()}|{row.decision_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(value: str | None) -> queue_service.Cursor | None:
    if not value:
        return None
    try:
        flag, created, decision = base64.urlsafe_b64decode(value.encode()).decode().split("|")
        return queue_service.Cursor(
            flag == "1", datetime.fromisoformat(created), uuid.UUID(decision)
        )
    except ValueError:
        raise UiError(400, "Bad page link", "That page link is malformed.") from None


def filters_from(request: Request) -> queue_service.QueueFilters:
    q = request.query_params
    status = q.get("status", "open")
    if status not in ("open", "reviewed", "all"):
        status = "open"
    return queue_service.QueueFilters(
        status=cast(queue_service.Status, status),
        **{
            k: q.get(k) or None
            for k in ("queue", "priority", "mode", "channel", "source", "version")
        },
    )


@router.get("", response_class=HTMLResponse)
async def review_queue(request: Request, user: Reviewer, after: str | None = None) -> Response:
    filters = filters_from(request)
    page_size = request.app.state.runtime.settings.review_page_size
    cursor = decode_cursor(after)
    until = datetime.now(UTC)
    async with unit_of_work(request) as session:
        queue = await queue_service.queue_page(
            session,
            filters=filters,
            after=cursor,
            limit=page_size + 1,
            estimates_since=until - timedelta(days=ESTIMATE_DAYS),
            estimates_until=until,
        )
    more = len(queue.rows) > page_size
    rows = queue.rows[:page_size]
    next_url = None
    if more:
        last = queue_service.Cursor(rows[-1].needs_review, rows[-1].created_at, rows[-1].id)
        url = request.url.include_query_params(after=encode_cursor(last))
        next_url = f"{url.path}?{url.query}"
    return render(
        request,
        "review_queue.html",
        {
            "rows": rows,
            "filters": filters,
            "options": queue.options,
            "counts": {"flagged": queue.flagged, "sampled": queue.sampled},
            "next_url": next_url,
            "paged": cursor is not None,
            "estimates": queue.estimates,
            "estimate_days": ESTIMATE_DAYS,
        },
    )


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket(request: Request, ticket_id: uuid.UUID, user: Reviewer) -> Response:
    async with unit_of_work(request) as session:
        page = await ticket_page(session, ticket_id)
        next_id = await queue_service.next_open(session, decision=page.decision) if page else None
    if page is None:
        raise UiError(404, "No such ticket", "There is no ticket with that id.")
    return render(request, "ticket.html", {"page": page, "next_id": next_id})


async def _review(
    request: Request, ticket_id: uuid.UUID, user: Reviewer, form: dict[str, str], action: str
) -> Response:
    try:
        async with unit_of_work(request) as session:
            if action == "confirm":
                result = await review_service.confirm(session, ticket_id=ticket_id, user=user)
            else:
                result = await review_service.override(
                    session,
                    ticket_id=ticket_id,
                    user=user,
                    queue=form.get("queue", ""),
                    priority=form.get("priority", ""),
                    reason=form.get("reason", ""),
                    note=form.get("note", ""),
                )
            next_id = await queue_service.next_open(session, ticket_id=ticket_id)
    except review_service.ReviewError as exc:
        flash(request, str(exc), "error")
        return RedirectResponse(f"/review/tickets/{ticket_id}", status_code=303)
    except IntegrityError:
        flash(request, "Someone reviewed this decision a moment ago.", "error")
        return RedirectResponse(f"/review/tickets/{ticket_id}", status_code=303)
    flash(
        request, f"Recorded: {result.verdict}. " + ("Next ticket." if next_id else "Queue empty.")
    )
    target = f"/review/tickets/{next_id}" if next_id and form.get("then") == "next" else "/review"
    return RedirectResponse(target, status_code=303)


@router.post("/tickets/{ticket_id}/override")
async def override(
    request: Request,
    ticket_id: uuid.UUID,
    user: Reviewer,
    form: Annotated[dict[str, str], Depends(form_fields)],
) -> Response:
    return await _review(request, ticket_id, user, form, "override")


@router.post("/tickets/{ticket_id}/confirm")
async def confirm(
    request: Request,
    ticket_id: uuid.UUID,
    user: Reviewer,
    form: Annotated[dict[str, str], Depends(form_fields)],
) -> Response:
    return await _review(request, ticket_id, user, form, "confirm")
