"""One trace span per node: input, output, timing and error, gathered into the state."""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.graph.context import AgentContext
from agent.graph.state import RouteState, SpanRecord


class NodeFn(Protocol):
    def __call__(
        self, state: RouteState, *, runtime: Runtime[AgentContext]
    ) -> Awaitable[dict[str, Any]]: ...


Describe = Callable[[RouteState], dict[str, Any]]
DescribeOut = Callable[[dict[str, Any]], dict[str, Any]]
Route = Callable[[RouteState], str]


def new_trace_id() -> str:
    return secrets.token_hex(16)


def traced(
    name: str, *, inputs: Describe, outputs: DescribeOut, then: Route | None = None
) -> Callable[[NodeFn], NodeFn]:
    """Wrap a node so that it records a span, and so that an exception becomes a ``failure``.

    A node that raises does not abort the run: the failure is recorded in its span and in the
    state, and the graph routes the ticket to human triage with the reason. With ``then``, the
    node names the next node itself (a ``Command``), which costs LangGraph far less per step
    than a conditional edge.
    """

    def wrap(fn: NodeFn) -> NodeFn:
        @functools.wraps(fn)
        async def node(state: RouteState, *, runtime: Runtime[AgentContext]) -> Any:
            started = datetime.now(UTC)
            t0 = time.perf_counter()
            error: str | None = None
            try:
                update = await fn(state, runtime=runtime)
            except Exception as exc:  # noqa: BLE001 - every failure must end in a decision
                error = f"{type(exc).__name__}: {exc}"
                update = {"failure": f"{name} failed: {error}"}
            span = SpanRecord(
                name=name,
                span_id=secrets.token_hex(8),
                started_at=started,
                duration_ms=(time.perf_counter() - t0) * 1000,
                input=_safe(inputs, state),
                output={} if error else _safe(outputs, update),
                error=error,
            )
            update = {**update, "spans": [span]}
            if then is None:
                return update
            return Command(update=update, goto=then({**state, **update}))  # type: ignore[typeddict-item]

        return node

    return wrap


def _safe(describe: Callable[[Any], dict[str, Any]], value: Any) -> dict[str, Any]:
    try:
        return describe(value)
    except Exception as exc:  # noqa: BLE001 - a tracing bug must not change the decision
        return {"describe_error": repr(exc)}
