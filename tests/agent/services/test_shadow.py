"""The shadow's two halves without a worker process: the API's dispatch (sampling by ticket
id, never waiting on a broken broker) and the runner a worker calls (one shadow decision per
ticket and version, its own budget and switch-off)."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal

import psycopg
import pytest
from pgvector.psycopg import register_vector
from redis import Redis

from agent.config import DEFAULT_EMBEDDING_MODEL, Settings
from agent.datasets.banking77 import labelled_records
from agent.embed import get_embedder
from agent.repositories import decisions
from agent.services.control import EPOCH_KEY
from agent.services.operators import Actor, set_shadow
from agent.services.shadow import ShadowBudgetSpent
from agent.services.shadow_dispatch import ShadowDispatch, publisher, shadow_bucket
from agent.services.shadow_runtime import ShadowRuntime
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy
from tests.asyncdb import session_for
from tests.conftest import Servers
from tests.factories import stratified
from tests.live import AgentSetup, free_port, set_up_agent, settings_for

ACTOR = Actor("tests", "operator")
SHADOW = uuid.uuid4()


def test_the_share_is_chosen_by_ticket_id_and_close_to_the_percent() -> None:
    ids = [uuid.UUID(int=i * 7919 + 1) for i in range(4000)]
    assert [shadow_bucket(t) for t in ids[:50]] == [shadow_bucket(t) for t in ids[:50]]
    sent: list[tuple[str, str]] = []
    dispatch = ShadowDispatch(shadow_label=lambda: (SHADOW, 20), publish=lambda *a: sent.append(a))
    chosen = sum(dispatch.after_decision(t, uuid.uuid4()) for t in ids)
    dispatch.close()
    # 4000 fixed ids: a fixed count, near 20% (binomial sd 25: within 4 sd)
    assert abs(chosen - 800) < 100 and len(sent) == chosen
    assert all(v == str(SHADOW) for _, v in sent)


def test_nothing_is_sent_when_off_or_when_the_shadow_served_the_ticket() -> None:
    sent: list[tuple[str, str]] = []
    label: tuple[uuid.UUID, int] | None = None
    dispatch = ShadowDispatch(shadow_label=lambda: label, publish=lambda *a: sent.append(a))
    assert not dispatch.after_decision(uuid.uuid4(), None)
    label = (SHADOW, 0)
    assert not dispatch.after_decision(uuid.uuid4(), None)
    label = (SHADOW, 100)
    assert not dispatch.after_decision(uuid.uuid4(), SHADOW)  # it served: nothing to shadow
    assert dispatch.after_decision(uuid.uuid4(), None)
    dispatch.close()
    assert len(sent) == 1


def test_a_broker_that_is_down_never_delays_the_route() -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    dispatch = ShadowDispatch(shadow_label=lambda: (SHADOW, 100), publish=publisher(down))
    started = time.perf_counter()
    for _ in range(5):
        assert dispatch.after_decision(uuid.uuid4(), None)
    returned_s = time.perf_counter() - started
    dispatch.close()  # waits for the sends to fail
    failed_s = time.perf_counter() - started
    assert returned_s < 0.05, returned_s
    assert dispatch.dropped == 5 and dispatch.enqueued == 0
    assert failed_s < 30  # each send gives up within seconds, it does not retry forever


async def _shadow_version(url: str, semver: str) -> uuid.UUID:
    async with session_for(url) as session:
        version = await create_version(
            session,
            semver=semver,
            classifier="knn",
            taxonomy=load_taxonomy("banking77"),
            actor=ACTOR,
            params={"k": 5},
            thresholds={"min_confidence": 0.9},
        )
        await set_shadow(session, semver=semver, percent=100, actor=ACTOR)
        return version.id


def _shadow_off(url: str, redis_url: str) -> None:
    async def body() -> None:
        async with session_for(url) as session:
            await set_shadow(session, semver=None, percent=0, actor=ACTOR)

    asyncio.run(body())
    Redis.from_url(redis_url).incr(EPOCH_KEY)  # what the CLI does after the commit


def _embedded_ticket(url: str, tenant_id: str, vector: list[float]) -> uuid.UUID:
    tid = uuid.uuid4()
    with psycopg.connect(url) as conn:
        register_vector(conn)
        conn.execute(
            "INSERT INTO tickets (id, tenant_id, source, external_id, subject, body, channel, "
            "metadata, received_at, embedding, embedding_model) VALUES (%s, %s, 'shadow', %s, '',"
            " 'my card payment was declined', 'web', '{}', now(), %s::vector, %s)",
            (tid, tenant_id, tid.hex, str(vector), DEFAULT_EMBEDDING_MODEL),
        )
    return tid


def _agent_with_a_shadow(
    servers: Servers, url: str, semver: str
) -> tuple[Settings, AgentSetup, uuid.UUID, list[float]]:
    """An agent on a little Banking77 history, a knn shadow version at 100%, and the vector
    of a card-payment ticket."""
    settings = settings_for(
        database_url=url, redis_url=servers.redis_url, data_dir=servers.data_dir
    )
    embedder = get_embedder(settings)
    history = stratified(labelled_records("train", load_taxonomy("banking77")), 10)
    setup = set_up_agent(settings, history, embedder)
    version_id = asyncio.run(_shadow_version(url, semver))
    return settings, setup, version_id, embedder.embed(["my card payment was declined"])[0].tolist()


def test_the_runner_writes_one_shadow_decision_and_respects_budget_and_off(
    servers, fresh_db_url
) -> None:
    settings, setup, version_id, vector = _agent_with_a_shadow(servers, fresh_db_url, "1.1.0")
    ticket = _embedded_ticket(fresh_db_url, setup.tenant_id, vector)
    runtime = ShadowRuntime(settings)
    try:
        assert runtime.run(ticket, version_id) == "recorded"
        assert runtime.run(ticket, version_id) == "exists"  # a redelivered message
    finally:
        runtime.close()
    with psycopg.connect(fresh_db_url) as conn:
        rows = conn.execute(
            "SELECT is_final, is_shadow, stream, sampled_for_review FROM decisions "
            "WHERE ticket_id = %s",
            (ticket,),
        ).fetchall()
        spans = conn.execute(
            "SELECT count(*) FROM trace_spans s JOIN decisions d ON d.id = s.decision_id "
            "WHERE d.ticket_id = %s AND d.is_shadow",
            (ticket,),
        ).fetchone()
    assert rows == [(False, True, "shadow", False)]
    assert spans is not None and spans[0] >= 5  # guard ... record

    # the shadow's model cost is its own: counted in shadow_spend, never in the tenant's
    with psycopg.connect(fresh_db_url) as conn:
        other = _embedded_ticket(fresh_db_url, setup.tenant_id, vector)
        conn.execute(
            "INSERT INTO decisions (id, ticket_id, agent_version_id, is_final, is_shadow, stream,"
            " routed_to, mode, needs_review, queue_probs, priority_probs, prompt_tokens, "
            "completion_tokens, cost_usd, latency_ms, sampled_for_review) VALUES "
            "(gen_random_uuid(), %s, %s, false, true, 'shadow', 'cards', 'agent', false, '{}', "
            "'{}', 10, 2, %s, 5, false)",
            (other, version_id, Decimal("0.25")),
        )
        spend = conn.execute("SELECT spent_usd FROM shadow_spend").fetchall()
        tenant = conn.execute("SELECT count(*) FROM tenant_spend").fetchone()
    assert spend == [(Decimal("0.250000"),)] and tenant == (0,)

    third = _embedded_ticket(fresh_db_url, setup.tenant_id, vector)
    capped = ShadowRuntime(settings.model_copy(update={"shadow_monthly_budget_usd": 0.25}))
    try:
        assert capped.run(third, version_id) == "budget"
        _shadow_off(fresh_db_url, servers.redis_url)
        assert capped.run(third, version_id) == "not_shadow"
    finally:
        capped.close()


def test_a_replay_counts_in_the_shadow_budget_and_is_refused_once_it_is_spent(
    servers, fresh_db_url
) -> None:
    settings, setup, version_id, vector = _agent_with_a_shadow(servers, fresh_db_url, "1.2.0")
    ticket = _embedded_ticket(fresh_db_url, setup.tenant_id, vector)

    async def spend(cost: str) -> None:  # what a replay with a model call adds
        async with await psycopg.AsyncConnection.connect(fresh_db_url) as conn:
            await decisions.add_shadow_spend(conn, version_id, Decimal(cost))

    capped = ShadowRuntime(settings.model_copy(update={"shadow_monthly_budget_usd": 0.25}))
    try:
        decision = capped.replay(ticket, version_id)  # under budget: replayed, nothing written
        assert decision is not None and decision["queue"]
        asyncio.run(spend("0.10"))
        asyncio.run(spend("0.15"))  # a second replay's cost, added to the month's row
        with pytest.raises(ShadowBudgetSpent, match="shadow budget"):
            capped.replay(ticket, version_id)
    finally:
        capped.close()
    with psycopg.connect(fresh_db_url) as conn:
        spent = conn.execute(
            "SELECT spent_usd FROM shadow_spend WHERE agent_version_id = %s", (version_id,)
        ).fetchall()
        written = conn.execute(
            "SELECT count(*) FROM decisions WHERE ticket_id = %s", (ticket,)
        ).fetchone()
    assert spent == [(Decimal("0.250000"),)]
    assert written == (0,)  # a replay records no decision
