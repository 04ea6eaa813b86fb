"""The public ticket portal: ``/portal/<slug>`` (form), its answer, and the private status
page. No login; CSRF, a per-address limit and a honeypot stand in front of the router."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from agent.metrics import PORTAL_SUBMISSIONS
from agent.services.portal import PortalTenant, portal_tenant
from review_ui.deps import client_address, form_fields, runtime_of
from review_ui.security.csrf import CSRF_FORM_FIELD, csrf_valid
from review_ui.security.portal_limit import PREFIX, SubmissionLimiter
from review_ui.security.secret import session_secret
from review_ui.security.status_tokens import DAY_S, StatusTokens
from review_ui.services import portal
from review_ui.templating import render

router = APIRouter(prefix="/portal", include_in_schema=False)


def _tokens(request: Request) -> StatusTokens:
    tokens: StatusTokens | None = getattr(request.app.state, "status_tokens", None)
    if tokens is None:
        settings = runtime_of(request).settings
        tokens = StatusTokens(
            session_secret(settings), max_age_s=settings.portal_status_link_max_age_days * DAY_S
        )
        request.app.state.status_tokens = tokens
    return tokens


def _limiters(request: Request) -> tuple[SubmissionLimiter, SubmissionLimiter]:
    """Per client address, and per tenant per minute (the limit is the tenant's)."""
    limiters: tuple[SubmissionLimiter, SubmissionLimiter] | None = getattr(
        request.app.state, "portal_limiters", None
    )
    if limiters is None:
        runtime = runtime_of(request)
        per_address = SubmissionLimiter(
            runtime.redis,
            max_per_window=runtime.settings.portal_max_submissions_per_ip,
            window_s=runtime.settings.portal_window_s,
        )
        per_tenant = SubmissionLimiter(
            runtime.redis, max_per_window=1, window_s=60, prefix=f"{PREFIX}-tenant"
        )
        limiters = (per_address, per_tenant)
        request.app.state.portal_limiters = limiters
    return limiters


async def _tenant(request: Request, slug: str) -> PortalTenant | None:
    async with runtime_of(request).sessions() as session:
        return await portal_tenant(session, slug)


def _error(request: Request, status: int, title: str, message: str, name: str) -> HTMLResponse:
    context = {"title": title, "message": message, "tenant_name": name}
    return render(request, "portal/error.html", context, status=status)


def _not_found(request: Request) -> HTMLResponse:
    return _error(request, 404, "Page not found", "There is no such page.", "Support")


def _form(
    request: Request,
    tenant: PortalTenant,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "tenant_name": tenant.name,
        "slug": tenant.slug,
        "fields": portal.FIELDS,
        "honeypot": portal.HONEYPOT,
        "values": values or {name: "" for name, *_ in portal.FIELDS},
        "errors": errors or {},
    }
    return render(request, "portal/form.html", context, status=status)


@router.get("/{slug}", response_class=HTMLResponse)
async def portal_form(request: Request, slug: str) -> Response:
    tenant = await _tenant(request, slug)
    return _not_found(request) if tenant is None else _form(request, tenant)


@router.post("/{slug}", response_class=HTMLResponse)
async def portal_submit(
    request: Request, slug: str, form: Annotated[dict[str, str], Depends(form_fields)]
) -> Response:
    """Guards first: the CSRF token (403, no database read), the portal (404), the client
    address's limit (429, counted on every post that reaches an enabled portal)."""
    tenant = await _tenant(request, slug)
    if not csrf_valid(request.session, form.get(CSRF_FORM_FIELD)):
        PORTAL_SUBMISSIONS.labels("invalid").inc()
        return _expired(request, tenant, form)
    if tenant is None:
        return _not_found(request)
    limited = await _rate_limited(request, tenant)
    if limited is not None:
        return limited
    if form.get(portal.HONEYPOT):
        # A bot filled the hidden field: answer as if accepted, store and route nothing.
        PORTAL_SUBMISSIONS.labels("honeypot").inc()
        return render(request, "portal/received.html", {"tenant_name": tenant.name})
    valid, errors = portal.validate(form)
    if valid is None:
        PORTAL_SUBMISSIONS.labels("invalid").inc()
        return _form(request, tenant, values=_values(form), errors=errors, status=422)
    received = await portal.submit(runtime_of(request), tenant=tenant, form=valid)
    PORTAL_SUBMISSIONS.labels("accepted").inc()
    token = _tokens(request).token(ticket_id=received.ticket_id, tenant_id=tenant.id)
    status_url = str(request.url_for("portal_status", slug=tenant.slug, token=token))
    context: dict[str, Any] = {"tenant_name": tenant.name, "received": received}
    context["status_url"] = status_url
    return render(request, "portal/received.html", context)


def _values(form: dict[str, str]) -> dict[str, str]:
    return {name: form.get(name, "") for name, *_ in portal.FIELDS}


def _expired(request: Request, tenant: PortalTenant | None, form: dict[str, str]) -> Response:
    """403 for a missing or wrong CSRF token: the form again, with the person's answers."""
    message = "The form expired. Please check your answers and send it again."
    if tenant is None:
        return _error(request, 403, "Form expired", message, "Support")
    return _form(request, tenant, values=_values(form), errors={"form": message}, status=403)


async def _rate_limited(request: Request, tenant: PortalTenant) -> HTMLResponse | None:
    per_address, per_tenant = _limiters(request)
    if not await per_address.allow(client_address(request)):
        limiter, whose = per_address, "from your address"
    elif not await per_tenant.allow(str(tenant.id), limit=tenant.rate_limit_per_minute):
        limiter, whose = per_tenant, "right now"
    else:
        return None
    PORTAL_SUBMISSIONS.labels("rate_limited").inc()
    minutes = max(1, limiter.retry_after_s() // 60)
    message = f"Too many requests {whose}. Try again in about {minutes} min."
    response = _error(request, 429, "Too many requests", message, tenant.name)
    response.headers["Retry-After"] = str(limiter.retry_after_s())
    return response


@router.get("/{slug}/status/{token}", response_class=HTMLResponse)
async def portal_status(request: Request, slug: str, token: str) -> Response:
    tenant = await _tenant(request, slug)
    ticket_id = _tokens(request).ticket_id(token, tenant_id=tenant.id) if tenant else None
    if tenant is None or ticket_id is None:
        return _not_found(request)
    async with runtime_of(request).sessions() as session:
        status = await portal.status(session, tenant=tenant, ticket_id=ticket_id)
    if status is None:
        return _not_found(request)
    context = {"tenant_name": tenant.name, "status": status}
    return render(request, "portal/status.html", context)
