"""The UI's sections, registered in one place: each with the paths it serves, the router that
serves them, and whether it gets session cookies and the security headers (CSP ...).

:func:`review_ui.app.install` mounts exactly these sections and configures the session and
header middleware from them, so a new section is one entry here: it cannot be mounted without
also being covered (``tests/review_ui/test_sections.py`` checks every mounted UI route). The
landing page ``/`` (in the ``auth`` section) is always covered by both middlewares.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter

from review_ui.views import admin, auth, dashboards, ops, portal, review

STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Section:
    """``prefixes``: the URL paths the section serves (a path is in the section if it starts
    with one). ``router`` None: static files mounted at the single prefix."""

    name: str
    prefixes: tuple[str, ...]
    router: APIRouter | None
    session: bool = True
    headers: bool = True


SECTIONS: tuple[Section, ...] = (
    Section("auth", ("/login", "/logout"), auth.router),
    Section("review", ("/review",), review.router),
    Section("ops", ("/ops",), ops.router),
    Section("dashboards", ("/dashboards",), dashboards.router),
    Section("admin", ("/admin",), admin.router),
    # The public portal: no login, but a session cookie for its form's CSRF token.
    Section("portal", ("/portal",), portal.router),
    Section("static", ("/ui/static",), None),
)
STATIC = next(s for s in SECTIONS if s.router is None)


def session_prefixes() -> tuple[str, ...]:
    """Paths whose requests carry the signed session cookie."""
    return tuple(p for s in SECTIONS if s.session for p in s.prefixes)


def header_prefixes() -> tuple[str, ...]:
    """Paths whose responses get the UI's security headers."""
    return tuple(p for s in SECTIONS if s.headers for p in s.prefixes)


def section_of(path: str) -> Section | None:
    """The section serving ``path`` (the landing page ``/`` belongs to ``auth``)."""
    if path == "/":
        return SECTIONS[0]
    return next((s for s in SECTIONS if path.startswith(s.prefixes)), None)
