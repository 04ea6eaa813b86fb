"""Every UI route lies in a registered section, and every section gets sessions and headers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.routing import Mount
from pydantic import SecretStr

from agent.api.app import create_app
from agent.config import Settings
from review_ui import install
from review_ui.sections import SECTIONS, section_of
from review_ui.security.headers import SecurityHeadersMiddleware
from review_ui.security.sessions import SessionCookieMiddleware


def _app(tmp_path: Path) -> tuple[FastAPI, set[str]]:
    """The API app, and the paths it serves before the UI is installed."""
    settings = Settings(data_dir=tmp_path, session_secret=SecretStr("s" * 48))
    app = create_app(settings, plugins=False)
    return app, set(_paths(app.routes))


def _paths(routes: Iterable[object], prefix: str = "") -> Iterator[str]:
    """Every path served, routers included (FastAPI >= 0.165 keeps an included router as one
    entry holding the original router; the asserted UI paths fail loudly if that changes)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _paths(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        else:
            yield prefix + str(getattr(route, "path", ""))


def _prefixes(app: FastAPI, middleware: type) -> tuple[str, ...]:
    (entry,) = [m for m in app.user_middleware if m.cls is middleware]
    return tuple(entry.kwargs["path_prefixes"])


def uncovered(app: FastAPI, api_paths: set[str]) -> list[str]:
    """UI routes (added by the install) outside a registered section or without the session
    cookie or the security headers; empty when all is well."""
    sessions = _prefixes(app, SessionCookieMiddleware)
    headers = _prefixes(app, SecurityHeadersMiddleware)
    bad = []
    for path in _paths(app.routes):
        if path in api_paths:
            continue
        section = section_of(path)
        in_middleware = path == "/" or (path.startswith(sessions) and path.startswith(headers))
        if section is None or not in_middleware:
            bad.append(path)
    return bad


def test_every_mounted_ui_route_is_in_a_section_with_session_and_headers(tmp_path: Path):
    app, api_paths = _app(tmp_path)
    install(app)
    ui_paths = set(_paths(app.routes)) - api_paths
    assert {"/", "/login", "/review", "/ops/switches", "/admin/users", "/ui/static"} <= ui_paths
    assert uncovered(app, api_paths) == []
    static = [r for r in app.routes if isinstance(r, Mount) and section_of(r.path) is not None]
    assert [section_of(r.path).name for r in static] == ["static"]  # type: ignore[union-attr]


def test_a_route_mounted_outside_the_sections_is_caught(tmp_path: Path):
    app, api_paths = _app(tmp_path)
    install(app)
    rogue = APIRouter(prefix="/reports")

    @rogue.get("/weekly")
    async def weekly() -> dict[str, str]:
        return {}

    app.include_router(rogue)
    assert uncovered(app, api_paths) == ["/reports/weekly"]


def test_sections_do_not_overlap_and_the_api_is_outside_them(tmp_path: Path):
    prefixes = [p for s in SECTIONS for p in s.prefixes]
    assert len(prefixes) == len(set(prefixes))
    assert not any(a != b and a.startswith(b) for a in prefixes for b in prefixes)
    _, api_paths = _app(tmp_path)
    assert [p for p in api_paths if p != "/" and section_of(p) is not None] == []
