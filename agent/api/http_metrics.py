"""Count every API response by method, route template and status class.

Labelled by the route's template (``/v1/tickets/{ticket_id}``), never the raw path, so a
scanner cannot grow the metric's label set; requests no route matched count as ``unmatched``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.metrics import observe_response

UNMATCHED = "unmatched"


class ResponseMetrics:
    """ASGI middleware: one ``ticketwatch_http_responses_total`` increment per response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # a handler that raised before starting a response

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            observe_response(method=scope["method"], route=route_of(scope), status=status)


def route_of(scope: Scope) -> str:
    """The template of the route that served ``scope`` (routing records it in the scope), or
    ``unmatched``."""
    route = scope.get("route")
    return str(getattr(route, "path", None) or UNMATCHED)
