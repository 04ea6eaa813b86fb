"""The llm and cascade classifiers behind the real API, against a scripted model server; a
version's own prompt and its pinned embedding model."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from agent.logs import make_formatter
from agent.repositories import catalog
from agent.services.control import ControlPlane
from agent.services.operators import Actor, move_label
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy
from tests.agent.llm_helpers import answer
from tests.asyncdb import session_for
from tests.fakes.openai_server import ByPrompt, Fail, Reply

MODEL = "openai/fake-router"


def promote(live_api, semver: str, **version: object) -> None:
    async def body() -> None:
        async with session_for(live_api.database_url) as session:
            if version:
                await create_version(
                    session,
                    semver=semver,
                    taxonomy=load_taxonomy("banking77"),
                    actor=Actor("tests", "admin"),
                    **version,
                )  # type: ignore[arg-type]
            await move_label(
                session, label="production", semver=semver, actor=Actor("tests", "admin")
            )
        redis = Redis.from_url(live_api.settings.redis_url.get_secret_value())
        await ControlPlane(None, redis).changed()  # type: ignore[arg-type]
        await redis.aclose()

    asyncio.run(body())


@pytest.fixture
def llm_version(live_api, fake_openai) -> Iterator[str]:
    semver = f"2.0.{uuid.uuid4().int % 100000}"
    promote(
        live_api,
        semver,
        classifier="llm",
        model=MODEL,
        params={
            "k": 15,
            "llm": {
                "api_base": fake_openai.base_url,
                "max_retries": 0,
                "timeout_s": 2,
                "probability_method": "samples",
                "samples_k": 2,
            },
        },
    )
    yield semver
    promote(live_api, live_api.setup.version)


def submit(client, body: str) -> dict:
    r = client.post(
        "/v1/tickets", json={"source": "tests", "external_id": uuid.uuid4().hex, "body": body}
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_llm_version_routes_with_the_models_answer(client, fake_openai, llm_version):
    fake_openai.script("fake-router", then=Reply(answer("transfers", "P2")))
    route = submit(client, "My transfer to a friend has been pending for days")
    assert (route["routed_to"], route["priority"], route["classifier"]) == (
        "transfers",
        "P2",
        "llm",
    )
    detail = client.get(f"/v1/tickets/{route['ticket_id']}").json()
    assert detail["decision"]["model"] and detail["decision"]["prompt_tokens"] > 0
    classify = next(s for s in detail["spans"] if s["name"] == "classify")
    assert classify["output"]["probability_source"] == "samples"
    assert fake_openai.count() == 3  # the answer plus k=2 samples


def test_a_failing_model_ends_in_human_triage_with_the_reason(client, fake_openai, llm_version):
    fake_openai.script("fake-router", then=Fail(500))
    route = submit(client, "Why was I charged a fee?")
    assert (route["routed_to"], route["mode"]) == ("human_triage", "fallback")
    assert "server_error" in route["reason"]


def test_log_lines_written_while_routing_carry_the_ticket_and_trace_ids(
    client, fake_openai, llm_version
):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter(json=True))
    gateway = logging.getLogger("agent.llm.gateway")
    gateway.addHandler(handler)
    try:
        fake_openai.script("fake-router", then=Fail(500))
        route = submit(client, "Why was I charged twice for one purchase?")
    finally:
        gateway.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    failed = [line for line in lines if line["event"].startswith("model call failed")]
    assert failed, lines
    spans = client.get(f"/v1/tickets/{route['ticket_id']}").json()["spans"]
    assert {line["ticket_id"] for line in failed} == {route["ticket_id"]}
    assert {line["trace_id"] for line in failed} == {spans[0]["trace_id"]}
    assert all(line["level"] == "warning" for line in failed)


def test_an_answer_outside_the_taxonomy_ends_in_human_triage(client, fake_openai, llm_version):
    fake_openai.script("fake-router", then=Reply(answer("mortgages", "P2")))
    route = submit(client, "I want a mortgage")
    assert route["mode"] == "fallback" and "invalid_output" in route["reason"]


def test_cascade_asks_the_model_only_when_the_vote_is_unsure(client, live_api, fake_openai):
    semver = f"3.0.{uuid.uuid4().int % 100000}"
    promote(
        live_api,
        semver,
        classifier="cascade",
        model=MODEL,
        params={
            "k": 15,
            "cascade_threshold": 0.999999,
            "llm": {
                "api_base": fake_openai.base_url,
                "max_retries": 0,
                "probability_method": "samples",
                "samples_k": 1,
            },
        },
    )
    try:
        fake_openai.script("fake-router", then=Reply(answer("card_orders", "P3")))
        route = submit(client, "hello, a question about something")
        assert route["classifier"] == "cascade" and fake_openai.count() == 2
        promote(
            live_api,
            f"{semver}-relaxed",
            classifier="cascade",
            model=MODEL,
            params={"k": 15, "cascade_threshold": 0.0, "llm": {"api_base": fake_openai.base_url}},
        )
        fake_openai.reset()
        submit(client, "My card has not arrived yet")
        assert fake_openai.count() == 0
    finally:
        promote(live_api, live_api.setup.version)


def version_id(live_api, semver: str) -> str:
    async def body() -> str:
        async with session_for(live_api.database_url) as session:
            version = await catalog.version_by_semver(session, semver)
            assert version is not None
            return str(version.id)

    return asyncio.run(body())


def submit_to(client, live_api, semver: str, body: str, before=lambda: None) -> dict:
    """A ticket routed by ``semver`` just after its label moved. A process rechecks the labels
    at most 20 ms after its last look (control plane), so a ticket sent within that window may
    still meet the old label; the next one cannot. ``before`` runs before each attempt."""
    wanted = version_id(live_api, semver)
    for _ in range(3):
        before()
        route = submit(client, body)
        if route["agent_version_id"] == wanted:
            return route
    raise AssertionError(f"tickets still routed by {route['agent_version_id']}, not {semver}")


HOUSE_RULE = "House rule: every ticket goes to card_orders."
RULED_PROMPT = f"""
system: |
  Queues:
  {{queues}}
  Priorities:
  {{priorities}}
  {HOUSE_RULE}
  Answer {{answer_format}}.
user: "Customer wrote:\\n{{ticket}}"
few_shot: {{k: 2}}
"""


def test_versions_with_their_own_prompts_route_the_same_ticket_differently(
    client, live_api, fake_openai
) -> None:
    """The model (scripted to follow its prompt) sees each version's own prompt."""
    fake_openai.script(
        "fake-router",
        then=ByPrompt(
            rules=((HOUSE_RULE, Reply(answer("card_orders", "P3"))),),
            otherwise=Reply(answer("transfers", "P2")),
        ),
    )
    params = {
        "k": 15,
        "llm": {"api_base": fake_openai.base_url, "probability_method": "samples", "samples_k": 2},
    }
    routes = {}
    try:
        for name, prompt in (("ruled", RULED_PROMPT), ("plain", "")):
            semver = f"4.0.{uuid.uuid4().int % 100000}"
            promote(
                live_api,
                semver,
                classifier="llm",
                model=MODEL,
                params=params,
                prompt_template=prompt,
            )
            text = "My transfer to a friend has been pending for days"
            routes[name] = submit_to(client, live_api, semver, text, fake_openai.reset_requests)
            sent = fake_openai.received()[0].body["messages"]
            routes[name]["sent"] = sent
    finally:
        promote(live_api, live_api.setup.version)

    assert routes["ruled"]["routed_to"] == "card_orders"
    assert routes["plain"]["routed_to"] == "transfers"
    ruled, plain = routes["ruled"]["sent"], routes["plain"]["sent"]
    assert ruled[-1]["content"].startswith("Customer wrote:\n")
    assert plain[-1]["content"].startswith("Ticket:\n")
    assert len(ruled) == 1 + 2 * 2 + 1 and len(plain) == 1 + 2 * 8 + 1  # few_shot.k: 2 vs 8


def test_a_version_pinned_to_another_embedding_model_sends_tickets_to_humans(
    client, live_api
) -> None:
    semver = f"5.0.{uuid.uuid4().int % 100000}"
    promote(
        live_api,
        semver,
        classifier="knn",
        params={"k": 15},
        embedding_model="openai/text-embedding-3-small",
    )
    try:
        route = submit_to(client, live_api, semver, "My card has not arrived yet")
    finally:
        promote(live_api, live_api.setup.version)
    after = submit_to(client, live_api, live_api.setup.version, "My card has not arrived yet")

    assert (route["routed_to"], route["mode"]) == ("human_triage", "fallback")
    assert "embedding_mismatch" in route["reason"]
    assert "openai/text-embedding-3-small" in route["reason"]
    assert after["mode"] != "fallback", after
