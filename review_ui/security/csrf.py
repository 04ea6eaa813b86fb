"""Per-session CSRF tokens: one random token per session, sent back by every form and htmx."""

from __future__ import annotations

import secrets
from typing import Any

CSRF_SESSION_KEY = "csrf"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def csrf_token(session: dict[str, Any]) -> str:
    """The session's token, created on first use."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def rotate_csrf_token(session: dict[str, Any]) -> str:
    """A new token (on login, so a token seen before authentication is worthless after)."""
    session.pop(CSRF_SESSION_KEY, None)
    return csrf_token(session)


def csrf_valid(session: dict[str, Any], submitted: str | None) -> bool:
    expected = session.get(CSRF_SESSION_KEY)
    if not isinstance(expected, str) or not submitted:
        return False
    return secrets.compare_digest(expected.encode(), submitted.encode())
