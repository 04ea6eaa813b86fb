"""Who is asking and may they: the signed-in user, role checks, CSRF, database sessions."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from agent.db import async_session_scope
from agent.runtime import AgentRuntime
from review_ui.security.csrf import CSRF_FORM_FIELD, CSRF_HEADER, csrf_valid
from review_ui.security.forms import FORM_TYPES, URLENCODED, undecodable, unreadable
from review_ui.services.users import UserRef, active_user

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class LoginRequired(Exception):
    """No valid session: the handler sends the browser to the login page."""


class UiError(Exception):
    """An error page: 400 (an unreadable form or link), 403 (role or CSRF), 404, 409, 415 (not
    a form), 429."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def runtime_of(request: Request) -> AgentRuntime:
    runtime: AgentRuntime = request.app.state.runtime
    return runtime


@asynccontextmanager
async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """One committed transaction (the request boundary owns it)."""
    async with async_session_scope(runtime_of(request).sessions) as session:
        yield session


async def verify_csrf(request: Request) -> None:
    """Refuse (403) any state-changing request without the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    form = await readable_form(request)  # a body no handler should read is refused first
    submitted = request.headers.get(CSRF_HEADER)
    if not submitted:
        value = form.get(CSRF_FORM_FIELD)
        submitted = value if isinstance(value, str) else None
    if not csrf_valid(request.session, submitted):
        raise UiError(
            403,
            "Form expired",
            "The form's security token is missing or wrong. Reload the page and try again.",
        )


async def current_user(request: Request) -> UserRef:
    raw, login_at = request.session.get("uid"), request.session.get("login_at")
    max_age = runtime_of(request).settings.session_max_age_s
    if not isinstance(login_at, int) or time.time() - login_at > max_age:
        raise LoginRequired()
    try:
        user_id = uuid.UUID(str(raw))
    except ValueError:
        raise LoginRequired() from None
    async with runtime_of(request).sessions() as session:
        user = await active_user(session, user_id)
    if user is None:
        request.session.clear()
        raise LoginRequired()
    request.state.user = user
    request.state.switches_on = await runtime_of(request).control.enabled()
    return user


def require(role: str) -> Callable[..., Awaitable[UserRef]]:
    """A dependency: the signed-in user, who must hold ``role`` or a higher one."""

    async def dependency(user: Annotated[UserRef, Depends(current_user)]) -> UserRef:
        if not user.can(role):
            raise UiError(403, "Not allowed", f"This needs the {role} role; you are a {user.role}.")
        return user

    return dependency


Reviewer = Annotated[UserRef, Depends(require("reviewer"))]
Operator = Annotated[UserRef, Depends(require("operator"))]
Admin = Annotated[UserRef, Depends(require("admin"))]


async def readable_form(request: Request) -> FormData:
    """The submitted form: 415 when the body is something else, 400 when it holds a NUL
    character, a file, text that is not UTF-8 or a broken %-escape (security/forms.py)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in FORM_TYPES and await request.body():
        raise UiError(415, "Not a form", "Send the form as a browser does (URL-encoded).")
    if ctype == URLENCODED and undecodable(await request.body()):
        raise UiError(400, "Unreadable form", "The form's text is not valid URL-encoded UTF-8.")
    form = await request.form()
    if problem := unreadable(form):
        raise UiError(400, "Unreadable form", problem)
    return form


async def form_fields(request: Request) -> dict[str, str]:
    """The submitted form as plain strings."""
    form = await readable_form(request)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"
