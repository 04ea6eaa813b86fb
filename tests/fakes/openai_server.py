"""A scripted OpenAI-compatible chat-completions server, for failure injection in tests.

A real HTTP server (Starlette under uvicorn, in a background thread, on a free port) that
answers ``POST /v1/chat/completions`` from per-model scripts: each request to a model takes
the next behaviour from its script (then the model's standing behaviour), so a test can say
"the primary answers 500 three times, then succeeds" and count what it received.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Reply:
    """A successful completion with ``content``, optionally token logprobs, after ``delay_s``."""

    content: str
    logprobs: list[dict[str, Any]] | None = None
    prompt_tokens: int = 42
    completion_tokens: int = 9
    delay_s: float = 0.0


@dataclass(frozen=True)
class Fail:
    """An HTTP error (500, 429, 400, ...), with ``Retry-After`` when given."""

    status: int
    retry_after: str | None = None
    message: str = "scripted failure"


@dataclass(frozen=True)
class ByPrompt:
    """A model that follows its prompt: the reply of the first rule whose phrase appears in
    the request's messages, else ``otherwise``."""

    rules: tuple[tuple[str, Reply], ...]
    otherwise: Reply

    def choose(self, body: dict[str, Any]) -> Reply:
        text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        return next((reply for phrase, reply in self.rules if phrase in text), self.otherwise)


Behaviour = Reply | Fail | ByPrompt


@dataclass(frozen=True)
class ReceivedRequest:
    model: str
    body: dict[str, Any]
    received_at: float  # time.monotonic() on arrival


def token_logprobs(
    tokens: list[str], top: dict[int, list[tuple[str, float]]] | None = None, chosen: float = -0.01
) -> list[dict[str, Any]]:
    """OpenAI-style ``logprobs.content``: each token with its alternatives (``top[i]``).

    The chosen token gets logprob ``chosen`` unless ``top[i]`` lists it with another value.
    """
    content = []
    for i, tok in enumerate(tokens):
        alternatives = dict((top or {}).get(i, []))
        alternatives.setdefault(tok, chosen)
        ranked = sorted(alternatives.items(), key=lambda kv: -kv[1])
        content.append(
            {
                "token": tok,
                "logprob": alternatives[tok],
                "bytes": list(tok.encode()),
                "top_logprobs": [
                    {"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in ranked
                ],
            }
        )
    return content


@dataclass
class FakeOpenAIServer:
    """Start with ``start()``; ``base_url`` is the ``api_base`` to give the client."""

    _scripts: dict[str, deque[Behaviour]] = field(default_factory=dict)
    _standing: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[ReceivedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    port: int = 0
    _stopping: bool = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, model: str, *behaviours: Behaviour, then: Behaviour | None = None) -> None:
        """Queue behaviours for ``model``; ``then`` answers every request after them."""
        with self._lock:
            self._scripts.setdefault(model, deque()).extend(behaviours)
            if then is not None:
                self._standing[model] = then

    def count(self, model: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if model is None or r.model == model)

    def received(self, model: str | None = None) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if model is None or r.model == model]

    def reset_requests(self) -> None:
        """Forget what was received; keep the scripts."""
        with self._lock:
            self.requests.clear()

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self._standing.clear()
            self.requests.clear()

    def _next(self, model: str, body: dict[str, Any]) -> Behaviour | None:
        with self._lock:
            self.requests.append(ReceivedRequest(model, body, time.monotonic()))
            queue = self._scripts.get(model)
            if queue:
                return queue.popleft()
            return self._standing.get(model)

    async def _chat_completions(self, request: Request) -> Response:
        body = await request.json()
        model = str(body.get("model", ""))
        behaviour = self._next(model, body)
        if behaviour is None:
            return _error(404, f"no script for model {model!r}")
        if isinstance(behaviour, ByPrompt):
            behaviour = behaviour.choose(body)
        if isinstance(behaviour, Fail):
            headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
            return _error(behaviour.status, behaviour.message, headers)
        # Sleep in steps so that stopping the server does not wait on a scripted delay.
        wake_at = time.monotonic() + behaviour.delay_s
        while time.monotonic() < wake_at and not self._stopping:
            await asyncio.sleep(min(0.05, wake_at - time.monotonic()))
        return JSONResponse(_completion(model, behaviour))

    def start(self) -> FakeOpenAIServer:
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/chat/completions", self._chat_completions, methods=["POST"]),
            ]
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", timeout_graceful_shutdown=1, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._stopping = True
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    payload = {"error": {"message": message, "type": "scripted", "code": str(status)}}
    return JSONResponse(payload, status_code=status, headers=headers)


def _completion(model: str, reply: Reply) -> dict[str, Any]:
    logprobs = {"content": reply.logprobs} if reply.logprobs is not None else None
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": "stop",
                "logprobs": logprobs,
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }


def as_json(payload: dict[str, Any]) -> str:
    """Compact JSON, as a model would write it."""
    return json.dumps(payload, separators=(", ", ": "))
