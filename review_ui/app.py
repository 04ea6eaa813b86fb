"""Mounting the review UI into the API app: the sections of :mod:`review_ui.sections` (pages,
static files) with their sessions and headers."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from agent.config import Settings
from review_ui.deps import LoginRequired, UiError, is_htmx
from review_ui.sections import (
    SECTIONS,
    STATIC,
    STATIC_DIR,
    header_prefixes,
    session_prefixes,
)
from review_ui.security.headers import SecurityHeadersMiddleware
from review_ui.security.secret import session_secret
from review_ui.security.sessions import SessionCookieMiddleware
from review_ui.templating import render


async def _login_required(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='/')}"
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


async def _ui_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UiError)
    context = {"title": exc.title, "message": exc.message, "status": exc.status}
    return render(request, "error.html", context, status=exc.status)


def install(app: FastAPI) -> None:
    """Add the review UI and operator console to ``app`` (entry point ``ticketwatch.web``)."""
    settings: Settings = app.state.settings
    for section in SECTIONS:
        if section.router is not None:
            app.include_router(section.router)
    app.mount(STATIC.prefixes[0], StaticFiles(directory=STATIC_DIR), name="ui-static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(UiError, _ui_error)
    app.add_middleware(
        SessionCookieMiddleware,
        secret=session_secret(settings),
        max_age_s=settings.session_max_age_s,
        https_only=settings.session_https_only,
        path_prefixes=session_prefixes(),
    )
    app.add_middleware(
        SecurityHeadersMiddleware, path_prefixes=header_prefixes(), static_prefix=STATIC.prefixes[0]
    )
