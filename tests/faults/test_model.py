"""The model times out, answers garbage, answers 429: every ticket still gets one decision.

An ``llm`` version on a scripted OpenAI-compatible server (``tests/fakes``) is in production
for these tests; the knn version is put back afterwards.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from agent.services.operators import Actor
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy
from tests.asyncdb import session_for
from tests.fakes.openai_server import Behaviour, Fail, FakeOpenAIServer, Reply
from tests.faults.load import SteadyLoad
from tests.faults.report import FaultResult
from tests.faults.scenario import Fault, run_fault
from tests.faults.stack import Stack

pytestmark = pytest.mark.e2e

MODEL = "faults-model"
GOOD = Reply(json.dumps({"queue": "transfers", "priority": "P2"}))
LLM_PARAMS = {
    "probability_method": "samples",
    "samples_k": 1,
    "timeout_s": 1.0,
    "total_timeout_s": 4.0,
    "max_retries": 1,
    "backoff_initial_s": 0.2,
    "circuit_cooldown_s": 5.0,
}


@pytest.fixture(scope="module")
def model(stack: Stack) -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer().start()
    server.script(MODEL, then=GOOD)

    async def llm_version() -> None:
        async with session_for(stack.database_url) as session:
            await create_version(
                session,
                semver="2.0.0",
                classifier="llm",
                model=f"openai/{MODEL}",
                taxonomy=load_taxonomy("banking77"),
                actor=Actor("faults", "admin"),
                params={"llm": {"api_base": server.base_url, **LLM_PARAMS}},
            )

    asyncio.run(llm_version())
    stack.promote("2.0.0")
    try:
        yield server
    finally:
        stack.promote(stack.setup.version)
        server.stop()


def routed_by_the_model_since(load: SteadyLoad, t: float) -> bool:
    """A ticket first sent after ``t`` was routed by the model again."""
    return any(
        s.sent_at >= t and s.answer and s.answer.get("mode") == "agent"
        for s in load.answered_since(t)
    )


def model_fault(model: FakeOpenAIServer, name: str, bad: Behaviour) -> Fault:
    return Fault(
        name,
        inject=lambda: model.script(MODEL, then=bad),
        repair=lambda: model.script(MODEL, then=GOOD),
        hold_s=6.0,
        recovered=routed_by_the_model_since,
    )


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("model times out (5 s, timeout 1 s) for 6 s", Reply(GOOD.content, delay_s=5.0)),
        ("model answers garbage for 6 s", Reply("Transfers, I would say. Or maybe cards?")),
        ("model answers 429 (Retry-After 1) for 6 s", Fail(429, retry_after="1")),
    ],
    ids=["timeout", "garbage", "429"],
)
def test_a_failing_model_sends_tickets_to_humans_and_loses_none(
    stack: Stack, model: FakeOpenAIServer, record: list[FaultResult], name: str, bad: Behaviour
) -> None:
    outcome = run_fault(stack, model_fault(model, name, bad))
    record.append(outcome)
    outcome.assert_nothing_lost()
    assert outcome.refusals == "none", outcome.refusals  # degraded, never refused
    assert "fallback" in outcome.modes, outcome.modes  # the fault's tickets went to humans
    outcome.assert_monitor_whole()
