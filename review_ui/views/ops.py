"""The operator console: kill switches, versions, alerts, and the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent import switches
from agent.models import Alert
from agent.services.operators import OperatorError
from agent.services.portal import set_portal
from review_ui.deps import Operator, UiError, form_fields, runtime_of, unit_of_work, verify_csrf
from review_ui.services import console
from review_ui.templating import flash, render
from review_ui.views.auth import safe_next

router = APIRouter(prefix="/ops", dependencies=[Depends(verify_csrf)], include_in_schema=False)
Form = Annotated[dict[str, str], Depends(form_fields)]


async def _console(request: Request, extra: dict[str, Any] | None = None) -> Response:
    async with unit_of_work(request) as session:
        state = await console.console_state(session)
    context = {"state": state, "kinds": switches.SEGMENT_KINDS, "confirm": None, **(extra or {})}
    return render(request, "console.html", context)


@router.get("", response_class=HTMLResponse)
async def console_page(request: Request, user: Operator) -> Response:
    return await _console(request)


@router.post("/switches", response_class=HTMLResponse)
async def switch(request: Request, user: Operator, form: Form) -> Response:
    """First post: show what will happen and ask to confirm. Second (confirm=yes): do it."""
    enabled = form.get("state") == "on"
    reason = form.get("reason", "").strip()
    try:
        key = console.switch_key(form.get("kind", "global"), form.get("value", ""))
        if form.get("confirm") != "yes":
            if not reason:
                raise OperatorError("give a reason: it is kept in the audit log")
            pending = {
                "key": key,
                "enabled": enabled,
                "reason": reason,
                "kind": form.get("kind", "global"),
                "value": form.get("value", ""),
            }
            return await _console(request, {"confirm": pending})
        async with unit_of_work(request) as session:
            await console.set_switch(
                session, key=key, enabled=enabled, reason=reason, actor=user.actor
            )
    except OperatorError as exc:
        flash(request, str(exc), "error")
        return RedirectResponse("/ops", status_code=303)
    await runtime_of(request).control.changed()
    state = "ON: matching tickets now go to human triage" if enabled else "off"
    flash(request, f"Kill switch {key} is {state}.", "warn" if enabled else "ok")
    return RedirectResponse("/ops", status_code=303)


@router.post("/versions")
async def versions(request: Request, user: Operator, form: Form) -> Response:
    action, semver = form.get("action", ""), form.get("semver", "").strip()
    try:
        percent = int(form.get("percent") or 0)
        async with unit_of_work(request) as session:
            served = await console.change_label(
                session, action=action, semver=semver, percent=percent, actor=user.actor
            )
    except (OperatorError, ValueError) as exc:
        flash(request, str(exc), "error")
        return RedirectResponse("/ops#versions", status_code=303)
    await runtime_of(request).control.changed()
    done = {
        "promote": f"Production now serves {served}.",
        "canary": f"Canary {served} serves {percent}% of customers.",
        "shadow": f"Shadow {served} runs on {percent}% of tickets."
        if percent
        else f"Shadow {served} is off.",
        "rollback": f"Production rolled back to {served}.",
    }[action]
    flash(request, done)
    return RedirectResponse("/ops#versions", status_code=303)


@router.post("/portals")
async def portals(request: Request, user: Operator, form: Form) -> Response:
    """Turn a tenant's public ticket portal on or off (audited)."""
    name, enabled = form.get("tenant", ""), form.get("action") == "on"
    try:
        async with unit_of_work(request) as session:
            portal = await set_portal(
                session,
                name=name,
                enabled=enabled,
                actor=user.actor,
                slug=form.get("slug", "").strip() or None,
                show_queue=form.get("show_queue") == "yes",
            )
    except OperatorError as exc:
        flash(request, str(exc), "error")
        return RedirectResponse("/ops#portals", status_code=303)
    state = f"on at /portal/{portal.slug}" if enabled else "off"
    flash(request, f"The portal of {name} is {state}.")
    return RedirectResponse("/ops#portals", status_code=303)


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
async def alert_page(request: Request, alert_id: uuid.UUID, user: Operator) -> Response:
    async with unit_of_work(request) as session:
        alert = await session.get(Alert, alert_id)
    if alert is None:
        raise UiError(404, "No such alert", "There is no alert with that id.")
    return render(request, "alert.html", {"alert": alert})


@router.post("/alerts/{alert_id}")
async def alert_action(
    request: Request, alert_id: uuid.UUID, user: Operator, form: Form
) -> Response:
    try:
        async with unit_of_work(request) as session:
            await console.change_alert(
                session,
                alert_id=alert_id,
                action=form.get("action", ""),
                note=form.get("note", "").strip(),
                actor=user.actor,
            )
    except OperatorError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"Alert {form.get('action')}d.")
    back = safe_next(form.get("back") or f"/ops/alerts/{alert_id}")
    return RedirectResponse(back, status_code=303)


@router.get("/compare/{ref}", response_class=HTMLResponse)
async def compare(request: Request, ref: str, user: Operator) -> Response:
    """A canary or shadow against production: figures per segment and the verdict (read-only;
    ``versions compare --auto`` acts on it)."""
    try:
        async with unit_of_work(request) as session:
            result = await console.comparison(session, candidate=ref)
    except OperatorError as exc:
        raise UiError(404, "Nothing to compare", str(exc)) from None
    return render(request, "compare.html", {"c": result})


@router.get("/audit", response_class=HTMLResponse)
async def audit_log(
    request: Request, user: Operator, before: int | None = None, action: str | None = None
) -> Response:
    size = runtime_of(request).settings.review_page_size
    async with unit_of_work(request) as session:
        entries = await console.audit_page(
            session, before_id=before, limit=size + 1, action_prefix=action or None
        )
    more = len(entries) > size
    entries = entries[:size]
    return render(
        request,
        "audit.html",
        {
            "entries": entries,
            "action": action or "",
            "next_before": entries[-1].id if more and entries else None,
        },
    )
