"""A version's history scope behind the real API: with ``tenant`` a ticket is routed from its
own tenant's outcomes only, and the LLM's few-shot examples never carry another tenant's text;
with ``shared`` the whole pool is read."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from agent.services.calibration import held_out_history
from agent.services.operators import Actor
from agent.services.tenants import create_tenant
from agent.taxonomy import load_taxonomy
from tests.agent.api.conftest import LiveApi
from tests.agent.api.test_llm_routing import MODEL, promote
from tests.agent.llm_helpers import answer
from tests.asyncdb import session_for
from tests.fakes.openai_server import FakeOpenAIServer, Reply

TAXONOMY = load_taxonomy("banking77")
A_QUEUE, B_QUEUE = "card_orders", "account_and_security"
# Tenant A's history is the query's text itself (the nearest anything can be); tenant B's is
# about something else. Only a scope that holds keeps A's tickets out of B's neighbours.
QUERY = "The glowing {marker} card I ordered from the moon branch has still not arrived"
B_TEXT = "Please tell me how I set a new PIN for my {marker} card, reference {i}"


@dataclass(frozen=True)
class Tenant:
    key: str
    marker: str
    history: frozenset[str]  # ticket ids of its outcomes


def _tenant_key(database_url: str) -> str:
    async def body() -> str:
        async with session_for(database_url) as s:
            _, key = await create_tenant(
                s, name=f"scope-{uuid.uuid4().hex[:8]}", actor=Actor("tests", "admin")
            )
        return key

    return asyncio.run(body())


def _submit(client: httpx.Client, body: str) -> dict[str, object]:
    r = client.post(
        "/v1/tickets", json={"source": "scope", "external_id": uuid.uuid4().hex, "body": body}
    )
    assert r.status_code == 201, r.text
    return r.json()


def _tenant_with_history(live_api: LiveApi, texts: list[str], queue: str, marker: str) -> Tenant:
    key = _tenant_key(live_api.database_url)
    ids = []
    with live_api.client(key=key) as client:
        for text in texts:
            ticket_id = str(_submit(client, text)["ticket_id"])
            r = client.post(
                "/v1/outcomes", json={"ticket_id": ticket_id, "queue": queue, "priority": "P3"}
            )
            assert r.status_code in (200, 201), r.text
            ids.append(ticket_id)
    return Tenant(key, marker, frozenset(ids))


@pytest.fixture(scope="module")
def tenants(live_api: LiveApi) -> tuple[Tenant, Tenant]:
    a_marker, b_marker = f"ALPHA{uuid.uuid4().hex[:6]}", f"BRAVO{uuid.uuid4().hex[:6]}"
    a_texts = [f"{QUERY.format(marker=a_marker)} ({i})" for i in range(6)]
    b_texts = [B_TEXT.format(marker=b_marker, i=i) for i in range(6)]
    return (
        _tenant_with_history(live_api, a_texts, A_QUEUE, a_marker),
        _tenant_with_history(live_api, b_texts, B_QUEUE, b_marker),
    )


def _neighbours(database_url: str, ticket_id: object) -> list[str]:
    """The ticket ids its retrieve step found (from its stored trace)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT output FROM trace_spans WHERE ticket_id = %s AND name = 'retrieve' "
            "ORDER BY started_at DESC LIMIT 1",
            (ticket_id,),
        ).fetchone()
    assert row is not None
    return [n["ticket_id"] for n in row[0]["neighbours"]]


def _version(live_api: LiveApi, scope: str, **version: object) -> Iterator[None]:
    semver = f"4.{uuid.uuid4().int % 1000}.{uuid.uuid4().int % 100000}"
    params = {"k": 15, "history_scope": scope, **version.pop("params", {})}  # type: ignore[dict-item]
    promote(live_api, semver, params=params, **version)
    try:
        yield
    finally:
        promote(live_api, live_api.setup.version)


def _knn(live_api: LiveApi, scope: str) -> Iterator[None]:
    yield from _version(live_api, scope, classifier="knn")


def _llm(live_api: LiveApi, scope: str, server: FakeOpenAIServer) -> Iterator[None]:
    llm = {"api_base": server.base_url, "max_retries": 0, "probability_method": "samples"}
    params = {"novel_to_model": True, "llm": {**llm, "samples_k": 1}}
    yield from _version(live_api, scope, classifier="llm", model=MODEL, params=params)


@pytest.fixture
def knn_tenant_scope(live_api: LiveApi) -> Iterator[None]:
    yield from _knn(live_api, "tenant")


@pytest.fixture
def knn_shared(live_api: LiveApi) -> Iterator[None]:
    yield from _knn(live_api, "shared")


def _b_asks(live_api: LiveApi, a: Tenant, b: Tenant) -> tuple[dict[str, object], list[str]]:
    """Tenant B submits A's own text (with B's marker): its route and its neighbours."""
    with live_api.client(key=b.key) as client:
        route = _submit(client, QUERY.format(marker=a.marker))
    return route, _neighbours(live_api.database_url, route["ticket_id"])


def _voted(route: dict[str, object]) -> str:
    """The queue the neighbours voted for. The novelty gate may still send the ticket to a
    person (B's history is about something else), which moves mass to ``unknown``, not to A."""
    queues = {
        q: p
        for q, p in route["probabilities"]["queue"].items()  # type: ignore[index]
        if q != "unknown"
    }
    return max(queues, key=queues.__getitem__)


def test_a_tenant_scoped_version_routes_from_the_tenants_own_history_only(
    live_api: LiveApi, tenants: tuple[Tenant, Tenant], knn_tenant_scope: None
) -> None:
    a, b = tenants
    route, neighbours = _b_asks(live_api, a, b)
    assert neighbours and set(neighbours) <= b.history
    assert _voted(route) == B_QUEUE, route
    assert route["queue"] in (B_QUEUE, "unknown"), route
    with live_api.client(key=a.key) as client:
        a_route = _submit(client, QUERY.format(marker=a.marker))
    assert set(_neighbours(live_api.database_url, a_route["ticket_id"])) <= a.history
    assert _voted(a_route) == A_QUEUE, a_route


def test_a_shared_version_reads_the_whole_pool(
    live_api: LiveApi, tenants: tuple[Tenant, Tenant], knn_shared: None
) -> None:
    a, b = tenants
    route, neighbours = _b_asks(live_api, a, b)
    assert a.history & set(neighbours[:6]) == a.history  # A's copies of the text come first
    assert route["queue"] == A_QUEUE, route


@pytest.mark.parametrize("scope", ["tenant", "shared"])
def test_the_llms_few_shot_examples_never_cross_tenants_when_scoped(
    live_api: LiveApi, tenants: tuple[Tenant, Tenant], fake_openai: FakeOpenAIServer, scope: str
) -> None:
    a, b = tenants
    fake_openai.script("fake-router", then=Reply(answer(B_QUEUE, "P3")))
    versions = _llm(live_api, scope, fake_openai)
    next(versions)
    try:
        _b_asks(live_api, a, b)
    finally:
        next(versions, None)
    (request, *_) = fake_openai.received("fake-router")
    examples = [str(m["content"]) for m in request.body["messages"][1:-1]]
    assert examples, "the prompt carries few-shot examples"
    shown = " ".join(examples)
    if scope == "tenant":
        assert a.marker not in shown and b.marker in shown
    else:
        assert a.marker in shown  # the pool's nearest are A's


def test_a_tenant_scoped_fit_draws_each_held_out_tickets_neighbours_from_its_own_tenant(
    live_api: LiveApi, tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = tenants
    url = live_api.database_url
    scoped = held_out_history(url, n=100_000, k=15, per_tenant=True)
    shared = held_out_history(url, n=100_000, k=15)
    own = {a.marker: a.history, b.marker: b.history}
    tenant_owned = a.history | b.history
    for case in scoped:
        found = {n.ticket_id for n in case.neighbours}
        marker = next((m for m in own if m in case.text), None)
        if marker is not None:
            assert found and found <= own[marker], case.text
        else:  # the history loaded without a tenant is its own pool
            assert not found & tenant_owned, case.text
    # the shared fit reads across tenants: A's tickets find more than A's six outcomes
    a_cases = [c for c in shared if a.marker in c.text]
    assert len(a_cases) == len(a.history)
    assert all({n.ticket_id for n in c.neighbours} - a.history for c in a_cases)
