"""A process killed mid-ticket loses nothing: the ticket ends with exactly one decision."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import httpx
import psycopg
import pytest

from agent.embed import get_embedder
from agent.services.operators import Actor, move_label
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy
from tests.asyncdb import session_for
from tests.factories import stratified
from tests.fakes.openai_server import FakeOpenAIServer, Reply
from tests.live import ApiProcess, set_up_agent, settings_for

pytestmark = pytest.mark.e2e
ANSWER = json.dumps({"queue": "transfers", "priority": "P2"})


@pytest.fixture
def fake_model():
    server = FakeOpenAIServer().start()
    yield server
    server.stop()


def final_decisions(url: str, ticket_id: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return [
            (str(r[0]), r[1])
            for r in conn.execute(
                "SELECT id, mode FROM decisions WHERE ticket_id = %s AND is_final", (ticket_id,)
            )
        ]


def test_a_ticket_in_flight_when_the_api_is_killed_is_finished_after_restart(
    servers, fresh_db_url, fake_model
):
    from agent.datasets.banking77 import labelled_records

    settings = settings_for(
        database_url=fresh_db_url, redis_url=servers.redis_url, data_dir=servers.data_dir
    )
    history = stratified(labelled_records("train", load_taxonomy("banking77")), 30)
    setup = set_up_agent(settings, history, get_embedder(settings))

    async def llm_version() -> None:
        async with session_for(fresh_db_url) as session:
            await create_version(
                session,
                semver="2.0.0",
                classifier="llm",
                model="openai/slow-model",
                taxonomy=load_taxonomy("banking77"),
                actor=Actor("tests", "admin"),
                params={
                    "llm": {
                        "api_base": fake_model.base_url,
                        "max_retries": 0,
                        "timeout_s": 60,
                        "probability_method": "samples",
                        "samples_k": 1,
                    }
                },
            )
            await move_label(
                session, label="production", semver="2.0.0", actor=Actor("tests", "admin")
            )

    asyncio.run(llm_version())
    fake_model.script("slow-model", then=Reply(ANSWER, delay_s=30))

    env = {
        "TICKETWATCH_LLM_API_KEY": "test",
        "TICKETWATCH_RECONCILE_INTERVAL_S": "0.5",
        "TICKETWATCH_RECONCILE_AFTER_S": "2",
    }
    first = ApiProcess(
        database_url=fresh_db_url, redis_url=servers.redis_url, data_dir=servers.data_dir, env=env
    ).start()
    payload = {
        "source": "crash",
        "external_id": uuid.uuid4().hex,
        "body": "My transfer to my landlord has been pending for three days",
    }
    headers = {"Authorization": f"Bearer {setup.api_key}"}
    outcome: dict[str, object] = {}

    def submit() -> None:
        try:
            outcome["response"] = httpx.post(
                f"{first.url}/v1/tickets", json=payload, headers=headers, timeout=60
            )
        except httpx.HTTPError as exc:
            outcome["error"] = exc

    client = threading.Thread(target=submit)
    client.start()
    deadline = time.monotonic() + 60
    while fake_model.count() == 0:  # the model call is under way
        assert time.monotonic() < deadline, "the ticket never reached the model"
        time.sleep(0.05)
    first.kill()
    client.join(timeout=30)
    assert "error" in outcome, "the client should have lost its connection"

    with psycopg.connect(fresh_db_url) as conn:
        ticket_id = str(
            conn.execute(
                "SELECT id FROM tickets WHERE source = 'crash' AND external_id = %s",
                (payload["external_id"],),
            ).fetchone()[0]
        )  # type: ignore[index]
    assert final_decisions(fresh_db_url, ticket_id) == []  # stored, not yet decided

    fake_model.reset()
    fake_model.script("slow-model", then=Reply(ANSWER))
    second = ApiProcess(
        database_url=fresh_db_url, redis_url=servers.redis_url, data_dir=servers.data_dir, env=env
    ).start()
    try:
        deadline = time.monotonic() + 60
        while not final_decisions(fresh_db_url, ticket_id):
            assert time.monotonic() < deadline, "the reconciler did not finish the ticket"
            time.sleep(0.2)
        decisions = final_decisions(fresh_db_url, ticket_id)
        assert len(decisions) == 1
        again = httpx.post(f"{second.url}/v1/tickets", json=payload, headers=headers, timeout=30)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        assert again.json()["decision_id"] == decisions[0][0]
        assert again.json()["routed_to"] == "transfers"
    finally:
        second.stop()
