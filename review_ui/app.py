"""Mounting the review UI into the API app: pages, static files, sessions, headers."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from agent.config import Settings
from review_ui.deps import LoginRequired, UiError, is_htmx
from review_ui.security.headers import SecurityHeadersMiddleware
from review_ui.security.secret import session_secret
from review_ui.security.sessions import SessionCookieMiddleware
from review_ui.templating import render
from review_ui.views import admin, auth, dashboards, ops, review

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/ui/static"
UI_PREFIXES = ("/login", "/logout", "/review", "/ops", "/dashboards", "/admin", STATIC_PREFIX)


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
    for router in (auth.router, review.router, ops.router, dashboards.router, admin.router):
        app.include_router(router)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="ui-static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(UiError, _ui_error)
    app.add_middleware(
        SessionCookieMiddleware,
        secret=session_secret(settings),
        max_age_s=settings.session_max_age_s,
        https_only=settings.session_https_only,
        path_prefixes=UI_PREFIXES,
    )
    app.add_middleware(
        SecurityHeadersMiddleware, path_prefixes=UI_PREFIXES, static_prefix=STATIC_PREFIX
    )
