"""The overhead baseline: a bare FastAPI endpoint that only awaits the model stub.

It sends the model the same request the agent's ``llm`` classifier sends (the same prompt
builder with eight few-shot examples, the same JSON schema, logprobs) through the same gateway,
LiteLLM and HTTP path, and does nothing else: no storage, retrieval, embedding or graph. The
agent's latency divided by this endpoint's is the agent's own overhead.
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from agent.classify.base import Neighbour
from agent.classify.prompts import build_messages
from agent.classify.prompts import response_format as make_response_format
from agent.datasets.banking77 import labelled_records
from agent.llm import ModelEndpoint, ModelGateway, RetryPolicy, shared_breakers
from agent.taxonomy import load_taxonomy


def make_app(model: str, api_base: str) -> FastAPI:
    taxonomy = load_taxonomy("banking77")
    examples = [
        Neighbour(f"n{i}", r.text, r.queue, r.priority, 0.2)
        for i, r in enumerate(labelled_records("train", taxonomy)[::1000][:8])
    ]
    response_format = make_response_format(taxonomy, "json_schema")
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
        messages = build_messages(
            text=str(payload.get("body", "")),
            neighbours=examples,
            taxonomy=taxonomy,
            system_role=True,
        )
        result = await gateway.complete(
            messages=messages,
            response_format=response_format,
            temperature=0.0,
            max_tokens=64,
            logprobs=True,
            top_logprobs=10,
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
