"""pass^k for a classifier that can change its mind: an llm version on a scripted server."""

from __future__ import annotations

import asyncio
import json

import pytest

from agent.services.operators import Actor
from agent.services.versions import create_version
from agent.taxonomy import Taxonomy
from evals.golden import build_golden_set
from evals.service import evaluate
from tests.asyncdb import session_for
from tests.evals.conftest import EvalAgent
from tests.fakes.openai_server import FakeOpenAIServer, Reply

MODEL = "openai/fake-router"


def answer(queue: str, priority: str) -> Reply:
    return Reply(json.dumps({"queue": queue, "priority": priority}))


def test_an_llm_that_answers_differently_fails_pass_k_and_consistency(
    eval_agent: EvalAgent, fake_llm: FakeOpenAIServer, taxonomy: Taxonomy
) -> None:
    case = eval_agent.cases[0]
    wrong = next(q for q in taxonomy.queue_names if q != case.queue)

    async def setup() -> None:
        async with session_for(eval_agent.database_url) as session:
            await create_version(
                session,
                semver="2.0.0-llm",
                classifier="llm",
                model=MODEL,
                taxonomy=taxonomy,
                actor=Actor("tests", "admin"),
                params={
                    "k": 15,
                    "llm": {
                        "api_base": fake_llm.base_url,
                        "max_retries": 0,
                        "timeout_s": 5,
                        "probability_method": "samples",
                        "samples_k": 1,
                    },
                },
            )
            await build_golden_set(
                session,
                data_dir=eval_agent.settings.data_dir,
                name="one-case",
                version="1",
                cases=[case],
                taxonomy=taxonomy,
                source="tests",
                created_by="tests",
            )

    asyncio.run(setup())
    # Each run asks once for the answer and once for a sample; the sample sets the route.
    right = answer(case.queue, case.priority)
    fake_llm.script("fake-router", right, right, right, right, right, answer(wrong, case.priority))
    settings = eval_agent.settings.model_copy(update={"eval_concurrency": 1})
    scored = asyncio.run(
        evaluate(
            settings, version_ref="2.0.0-llm", golden_ref="one-case@1", k=3, created_by="tests"
        )
    )
    m = scored.run.metrics
    assert fake_llm.count("fake-router") == 6
    assert m["modes"] == {"agent": 3}
    assert m["queue"]["accuracy"] == pytest.approx(2 / 3)
    assert m["pass_k"] == {"k": 3, "queue": 0.0, "route": 0.0, "consistency": 0.0}
    assert m["tokens"] == {"prompt": 6 * 42, "completion": 6 * 9}
