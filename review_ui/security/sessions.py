"""Signed session cookies (itsdangerous), HttpOnly and SameSite=Lax, Secure behind TLS.

Like Starlette's SessionMiddleware, but the Secure flag follows the request: a request that
came over HTTPS (uvicorn rewrites the scheme from X-Forwarded-Proto when the proxy is trusted,
see ``--forwarded-allow-ips``) gets a Secure cookie, and ``session_https_only`` forces it.
Only the UI's paths get a session; the JSON API never sees the cookie.
"""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from http.cookies import CookieError, SimpleCookie
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "tw_session"


class SessionCookieMiddleware:
    """ASGI middleware putting a signed, expiring cookie session in ``scope['session']``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret: str,
        max_age_s: int,
        https_only: bool,
        path_prefixes: tuple[str, ...],
    ) -> None:
        self.app = app
        self.signer = TimestampSigner(secret, salt="ticketwatch.ui.session")
        self.max_age_s = max_age_s
        self.https_only = https_only
        self.path_prefixes = path_prefixes

    def _in_scope(self, scope: Scope) -> bool:
        path = scope["path"]
        return path == "/" or path.startswith(self.path_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._in_scope(scope):
            await self.app(scope, receive, send)
            return
        initial = self._load(scope)
        scope["session"] = dict(initial)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                session = scope["session"]
                if session != initial:
                    MutableHeaders(scope=message).append("set-cookie", self._cookie(scope))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _load(self, scope: Scope) -> dict[str, Any]:
        raw = _cookie_value(scope, COOKIE_NAME)
        if not raw:
            return {}
        try:
            data = self.signer.unsign(raw.encode(), max_age=self.max_age_s)
            value = json.loads(b64decode(data))
        except (BadSignature, SignatureExpired, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def _cookie(self, scope: Scope) -> str:
        session: dict[str, Any] = scope["session"]
        secure = self.https_only or scope.get("scheme") == "https"
        attrs = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
        if not session:
            return f"{COOKIE_NAME}=; Max-Age=0{attrs}"
        payload = b64encode(json.dumps(session, separators=(",", ":")).encode())
        signed = self.signer.sign(payload).decode()
        return f"{COOKIE_NAME}={signed}; Max-Age={self.max_age_s}{attrs}"


def _cookie_value(scope: Scope, name: str) -> str | None:
    for key, value in scope["headers"]:
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:  # a malformed header means no session
                return None
            if name in jar:
                return jar[name].value
    return None
