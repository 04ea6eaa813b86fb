"""The overhead baseline: a bare FastAPI endpoint that only awaits the model stub.

It makes the same model call as the agent (the same gateway, LiteLLM and HTTP path) and
nothing else, so the agent's latency divided by this endpoint's is the agent's own overhead.
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from agent.llm import ModelEndpoint, ModelGateway, RetryPolicy, shared_breakers


def make_app(model: str, api_base: str) -> FastAPI:
    gateway = ModelGateway(
        primary=ModelEndpoint(model, api_base, SecretStr("bench")),
        fallback=None,
        timeout_s=30,
        total_timeout_s=60,
        retry=RetryPolicy(max_retries=0),
        breakers=shared_breakers(failure_threshold=1000, cooldown_s=1),
    )
    app = FastAPI()

    @app.post("/bare")
    async def bare(payload: dict[str, object]) -> dict[str, object]:
        result = await gateway.complete(
            messages=[{"role": "user", "content": str(payload.get("body", ""))}], max_tokens=32
        )
        return {"ok": result.error is None}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--api-base", required=True)
    args = parser.parse_args()
    uvicorn.run(
        make_app(args.model, args.api_base),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
