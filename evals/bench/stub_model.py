"""An OpenAI-compatible model stub with a fixed latency, for overhead benchmarks.

``python -m evals.bench.stub_model --port 9000 --delay-ms 200`` answers every chat completion
after exactly the delay with a valid routing answer (the first queue named in the prompt's
schema, or ``unknown``), so the model's share of any latency is known.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def _answer(body: dict[str, Any]) -> str:
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema", {})
    queues = schema.get("properties", {}).get("queue", {}).get("enum") or ["unknown"]
    return json.dumps({"queue": queues[0], "priority": "P3"})


def _logprobs(content: str) -> dict[str, Any]:
    """Certain token logprobs (one token per character), so the agent needs no sampling."""
    return {
        "content": [
            {
                "token": ch,
                "logprob": 0.0,
                "bytes": list(ch.encode()),
                "top_logprobs": [{"token": ch, "logprob": 0.0, "bytes": list(ch.encode())}],
            }
            for ch in content
        ]
    }


def make_app(delay_s: float) -> Starlette:
    async def completions(request: Request) -> JSONResponse:
        body = await request.json()
        await asyncio.sleep(delay_s)
        content = _answer(body)
        return JSONResponse(
            {
                "id": "stub",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "stub"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                        "logprobs": _logprobs(content) if body.get("logprobs") else None,
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
            }
        )

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/health", health),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=200.0)
    args = parser.parse_args()
    uvicorn.run(
        make_app(args.delay_ms / 1000),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
