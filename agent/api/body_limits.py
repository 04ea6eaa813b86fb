"""Reject oversized, non-JSON and non-UTF-8 request bodies before they reach a handler."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.api.errors import error_response


class BodyGuard:
    """ASGI middleware: 413 over ``max_bytes`` (declared or streamed), 415 for JSON endpoints
    sent something else, 400 for bodies that are not UTF-8."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, json_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.json_prefixes = json_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(
                scope, receive, send, 413, "too_large", f"the body exceeds {self.max_bytes} bytes"
            )
            return
        is_json_route = scope["path"].startswith(self.json_prefixes)
        if is_json_route:
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                await self._reject(
                    scope,
                    receive,
                    send,
                    415,
                    "unsupported_media_type",
                    "send the body as application/json",
                )
                return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._reject(
                    scope,
                    receive,
                    send,
                    413,
                    "too_large",
                    f"the body exceeds {self.max_bytes} bytes",
                )
                return
        if is_json_route:
            try:
                body.decode("utf-8", errors="strict")
            except UnicodeDecodeError as exc:
                await self._reject(
                    scope,
                    receive,
                    send,
                    400,
                    "invalid_utf8",
                    f"the body is not valid UTF-8 (byte {exc.start})",
                )
                return
            try:
                json.loads(body)
            except ValueError as exc:
                await self._reject(
                    scope, receive, send, 400, "invalid_json", f"the body is not valid JSON: {exc}"
                )
                return
            except RecursionError:
                await self._reject(
                    scope, receive, send, 400, "invalid_json", "the body is nested too deeply"
                )
                return

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _reject(
        scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str
    ) -> None:
        await error_response(status, code, message)(scope, receive, send)
