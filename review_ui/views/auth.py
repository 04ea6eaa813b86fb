"""Signing in and out."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent.services.operators import Actor, audit
from review_ui.deps import (
    client_address,
    form_fields,
    runtime_of,
    unit_of_work,
    verify_csrf,
)
from review_ui.security.csrf import rotate_csrf_token
from review_ui.security.ratelimit import LoginLimiter, LoginLimits
from review_ui.services.users import authenticate
from review_ui.templating import render

# Who a failed sign-in is audited as: nobody has signed in; the name tried is the target.
ANONYMOUS = Actor("anonymous", "anonymous")

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def login_limiter(request: Request) -> LoginLimiter:
    limiter: LoginLimiter | None = getattr(request.app.state, "login_limiter", None)
    if limiter is None:
        runtime = runtime_of(request)
        s = runtime.settings
        limiter = LoginLimiter(
            runtime.redis,
            LoginLimits(s.login_max_failures, s.login_max_failures_per_ip, s.login_window_s),
        )
        request.app.state.login_limiter = limiter
    return limiter


def safe_next(value: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/review"


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/review", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, form: Annotated[dict[str, str], Depends(form_fields)]
) -> Response:
    username, password = form.get("username", "").strip(), form.get("password", "")
    target = safe_next(form.get("next"))
    limiter, client = login_limiter(request), client_address(request)
    if await limiter.blocked(username, client):
        minutes = max(1, limiter.retry_after_s() // 60)
        error = f"Too many failed attempts. Try again in about {minutes} min."
        context = {"next": target, "error": error, "username": username}
        response = render(request, "login.html", context, status=429)
        response.headers["Retry-After"] = str(limiter.retry_after_s())
        return response
    async with unit_of_work(request) as session:
        user = await authenticate(session, username=username, password=password)
        if user is not None:
            await audit(session, user.actor, "auth.login", user.username, client=client)
        else:  # bounded by the sign-in limit: refused attempts past it are not audited
            await audit(session, ANONYMOUS, "auth.login_failed", username[:200], client=client)
    if user is None:
        await limiter.record_failure(username, client)
        context = {"next": target, "error": "Wrong username or password.", "username": username}
        return render(request, "login.html", context, status=401)
    await limiter.reset(username, client)
    request.session.clear()
    request.session.update(uid=str(user.id), login_at=int(time.time()))
    rotate_csrf_token(request.session)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
