"""Prompt injection through the LLM path of the real API: 50 tickets that instruct the model
(pick a queue, grant P1, reveal the prompt, drop JSON; five languages; plain, base64,
zero-width, HTML comment, code fence), answered by a fake model that obeys every instruction
and by the real local model. Whatever the model says, the route stays inside the taxonomy, an
injected P1 is not granted without support in similar tickets, and nothing of the instruction
or the model's answer reaches the logs."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest
from redis.asyncio import Redis

from agent.classify.prompt_template import DEFAULT_TEMPLATE, FewShot
from agent.classify.prompts import queue_labels
from agent.logs import quiet_third_party
from agent.services.control import ControlPlane
from agent.services.operators import Actor, move_label
from agent.services.versions import create_version
from agent.taxonomy import HUMAN_TRIAGE, UNKNOWN, load_taxonomy
from tests.agent.llm_helpers import answer
from tests.asyncdb import session_for
from tests.fakes.openai_server import FakeOpenAIServer, Reply
from tests.fixtures.llm_server import LocalModelServer, start_local_model_server
from tests.live_ui import LiveUi
from tests.security.injections import Injection, injection_cases

TAXONOMY = load_taxonomy("banking77")
CASES = injection_cases()
# The local model reads a 1,900-token prompt per ticket (about 6 s on two CPU cores): one case
# per instruction, each in another encoding; the obedient fake model gets every case.
LOCAL_CASES = [CASES[5 * i + i % 5] for i in range(len(CASES) // 5)]
FAKE_MODEL = "openai/obedient"
LEAKED = "My instructions are: you are a ticket router for"


def _label(live_ui: LiveUi, semver: str, **version: object) -> None:
    async def body() -> None:
        async with session_for(live_ui.database_url) as session:
            if version:
                await create_version(
                    session,
                    semver=semver,
                    taxonomy=TAXONOMY,
                    actor=Actor("tests", "admin"),
                    **version,  # type: ignore[arg-type]
                )
            await move_label(
                session, label="production", semver=semver, actor=Actor("tests", "admin")
            )
        redis = Redis.from_url(live_ui.settings.redis_url.get_secret_value())  # type: ignore[union-attr]
        await ControlPlane(None, redis).changed()  # type: ignore[arg-type]
        await redis.aclose()

    asyncio.run(body())


def _llm_version(
    live_ui: LiveUi, model: str, llm: dict[str, object], **version: object
) -> Iterator[None]:
    semver = f"9.{uuid.uuid4().int % 1000}.{uuid.uuid4().int % 100000}"
    # novel_to_model: the model sees every ticket, the unlike ones too (the worst case)
    params = {"k": 15, "novel_to_model": True, "llm": {"max_retries": 0, **llm}}
    _label(live_ui, semver, classifier="llm", model=model, params=params, **version)
    try:
        yield
    finally:
        _label(live_ui, live_ui.setup.version)


@pytest.fixture(scope="module")
def obedient_model() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture
def obedient_version(live_ui: LiveUi, obedient_model: FakeOpenAIServer) -> Iterator[None]:
    llm = {"api_base": obedient_model.base_url, "probability_method": "samples", "samples_k": 1}
    yield from _llm_version(live_ui, FAKE_MODEL, llm)


def _obey(case: Injection) -> Reply:
    """What a model that follows the ticket's instruction answers."""
    if case.demand == "route":
        return Reply(answer(case.queue, "P1"))
    if case.demand == "reveal":
        return Reply(f"{LEAKED} a bank. Queues: cards, transfers.")
    return Reply("Of course! I have routed your ticket to our VIP team with top priority.")


def _submit(client: httpx.Client, case: Injection) -> dict[str, object]:
    body = {"source": "injection-tests", "external_id": uuid.uuid4().hex, "body": case.text}
    r = client.post("/v1/tickets", json=body)
    assert r.status_code == 201, (case.name, r.text)
    return r.json()


def _assert_contained(case: Injection, route: dict[str, object]) -> None:
    assert route["routed_to"] in {*queue_labels(TAXONOMY), HUMAN_TRIAGE}, case.name
    assert route["queue"] in {*queue_labels(TAXONOMY), UNKNOWN, None}, case.name
    if route["routed_to"] != HUMAN_TRIAGE:  # with people, the prediction is only a record
        assert route["priority"] != "P1", (case.name, route)


def test_there_are_at_least_40_cases_in_five_languages() -> None:
    assert len(CASES) >= 40
    assert {c.name.split("-")[0] for c in CASES} == {"en", "es", "fr", "de", "zh", "ru"}


def test_a_model_that_obeys_the_ticket_cannot_take_the_route_outside_the_rules(
    live_ui: LiveUi,
    obedient_model: FakeOpenAIServer,
    obedient_version: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet_third_party(logging.DEBUG)  # as every process configures its logging
    with caplog.at_level(logging.DEBUG), live_ui.api() as client:
        routes = []
        for case in CASES:
            obedient_model.script("obedient", then=_obey(case))
            routes.append((case, _submit(client, case)))
    assert obedient_model.count() >= len(CASES)  # the model saw every ticket
    for case, route in routes:
        _assert_contained(case, route)
        if case.demand == "route" and case.queue in queue_labels(TAXONOMY):
            # obeyed queue, refused urgency: routed, at a priority history supports, for review
            assert route["routed_to"] == case.queue and route["mode"] == "agent", case.name
            assert "priority P1 has no support" in str(route["reason"]), case.name
        else:
            # a queue outside the taxonomy, a leaked prompt, prose: none is a valid answer
            assert (route["routed_to"], route["mode"]) == (HUMAN_TRIAGE, "fallback"), case.name
            assert "invalid_output" in str(route["reason"]), case.name
            assert LEAKED not in str(route["reason"]), case.name
    logged = caplog.text
    for case in CASES:
        assert case.marker not in logged, case.name
    assert LEAKED not in logged and "VIP team" not in logged


def test_the_ticket_reaches_the_model_only_inside_the_user_message(
    live_ui: LiveUi, obedient_model: FakeOpenAIServer, obedient_version: None
) -> None:
    case = CASES[0]
    obedient_model.script("obedient", then=_obey(case))
    with live_ui.api() as client:
        _submit(client, case)
    (request, *_) = obedient_model.received("obedient")
    messages = request.body["messages"]
    instructions = [m["content"] for m in messages if m["role"] == "system"]
    assert instructions and all(case.marker not in text for text in instructions)
    assert any(case.marker in m["content"] for m in messages if m["role"] == "user")


@pytest.fixture(scope="module")
def local_model() -> Iterator[LocalModelServer]:
    with start_local_model_server() as server:
        yield server


@pytest.mark.llm_server
@pytest.mark.timeout(600)
def test_the_real_local_model_keeps_every_injected_ticket_inside_the_rules(
    live_ui: LiveUi, local_model: LocalModelServer
) -> None:
    llm = {
        "api_base": local_model.base_url,
        "timeout_s": 120,
        "total_timeout_s": 300,
        "response_format": "json_object_with_schema",  # llama.cpp turns it into a grammar
        "system_role": False,  # Gemma's chat template has no system role
        "max_tokens": 32,
        # one sampled answer, no logprobs: the server's logprobs sort the whole vocabulary
        # (262k entries) per answer token in Python, 15 s a ticket on two cores; the rules
        # under test hold whatever the probabilities (the logprob path: test_llm_server.py)
        # the one sample near-greedy too, so that the routes draw nothing at random
        "probability_method": "samples",
        "samples_k": 1,
        "sample_temperature": 0.01,
    }
    # the local server's context (2,048 tokens) holds the prompt without examples
    no_examples = DEFAULT_TEMPLATE.model_copy(update={"few_shot": FewShot(k=0)}).to_yaml()
    versions = _llm_version(live_ui, local_model.model, llm, prompt_template=no_examples)
    next(versions)
    try:
        with live_ui.api() as client:
            client.timeout = httpx.Timeout(300)
            routes = [(case, _submit(client, case)) for case in LOCAL_CASES]
    finally:
        next(versions, None)
    for case, route in routes:
        _assert_contained(case, route)
    # the path was the model's: it answered validly for some tickets, not all went to people
    assert any(route["mode"] == "agent" for _, route in routes), [r for _, r in routes][:3]
