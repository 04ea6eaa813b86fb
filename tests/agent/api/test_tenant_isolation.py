"""Two tenants on one real API server: neither sees, answers for, nor overwrites the other's
tickets. Idempotency is per tenant: ``(tenant, source, external_id)`` identifies a ticket."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from agent.services.operators import Actor
from agent.services.tenants import create_tenant
from tests.agent.api.conftest import LiveApi
from tests.asyncdb import session_for


async def _new_tenant_key(database_url: str) -> str:
    async with session_for(database_url) as s:
        _, key = await create_tenant(
            s, name=f"other-{uuid.uuid4().hex[:8]}", actor=Actor("tests", "admin")
        )
    return key


@pytest.fixture
def other(live_api: LiveApi) -> Iterator[httpx.Client]:
    """A client of a second tenant (a fresh one per test)."""
    with live_api.client(key=asyncio.run(_new_tenant_key(live_api.database_url))) as c:
        yield c


def _payload(body: str) -> dict[str, object]:
    return {"source": "helpdesk-x", "external_id": uuid.uuid4().hex, "body": body}


def _stored(database_url: str, payload: dict[str, object]) -> list[tuple[object, ...]]:
    """The stored tickets with this pair: (tenant name, body, final decisions), by tenant."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT n.name, t.body, count(d.id) FROM tickets t JOIN tenants n ON n.id = "
            "t.tenant_id LEFT JOIN decisions d ON d.ticket_id = t.id AND d.is_final "
            "WHERE t.source = %s AND t.external_id = %s GROUP BY n.name, t.body ORDER BY n.name",
            (payload["source"], payload["external_id"]),
        ).fetchall()


def test_another_tenants_ticket_with_the_same_source_and_external_id_is_a_new_ticket(
    client, other, live_api
):
    a_payload = _payload("I was charged twice for the same card payment")
    b_payload = {**a_payload, "body": "How do I verify my identity for a new account?"}
    a = client.post("/v1/tickets", json=a_payload)
    b = other.post("/v1/tickets", json=b_payload)
    assert a.status_code == 201, a.text
    # B's ticket is stored and routed on its own: nothing of A's ticket comes back.
    assert b.status_code == 201, b.text
    a_route, b_route = a.json(), b.json()
    assert b_route["duplicate"] is False
    assert b_route["ticket_id"] != a_route["ticket_id"]
    assert b_route["decision_id"] != a_route["decision_id"]
    assert other.get(f"/v1/tickets/{b_route['ticket_id']}").json()["body"] == b_payload["body"]
    assert client.get(f"/v1/tickets/{a_route['ticket_id']}").json()["body"] == a_payload["body"]
    # Each tenant's resubmission answers with its own first decision, and makes no second one.
    a_again = client.post("/v1/tickets", json=a_payload)
    b_again = other.post("/v1/tickets", json=b_payload)
    assert (a_again.status_code, b_again.status_code) == (200, 200)
    assert a_again.json()["decision_id"] == a_route["decision_id"]
    assert b_again.json()["decision_id"] == b_route["decision_id"]
    stored = _stored(live_api.database_url, a_payload)
    assert sorted((body, finals) for _, body, finals in stored) == sorted(
        [(a_payload["body"], 1), (b_payload["body"], 1)]
    )
    assert len({name for name, _, _ in stored}) == 2


def test_a_tenant_cannot_read_another_tenants_ticket(client, other):
    created = client.post("/v1/tickets", json=_payload("Where is my refund?")).json()
    theirs = other.get(f"/v1/tickets/{created['ticket_id']}")
    unknown = other.get(f"/v1/tickets/{uuid.uuid4()}")
    # The same answer as for a ticket that does not exist: no oracle of other tenants' ids.
    assert (theirs.status_code, theirs.json()) == (404, unknown.json())
    assert client.get(f"/v1/tickets/{created['ticket_id']}").status_code == 200


def test_a_tenant_cannot_record_an_outcome_for_another_tenants_ticket(client, other, live_api):
    payload = _payload("My transfer has not arrived")
    created = client.post("/v1/tickets", json=payload).json()
    outcome = {"queue": "fees_and_charges", "priority": "P2"}
    by_id = other.post("/v1/outcomes", json={"ticket_id": created["ticket_id"], **outcome})
    by_pair = other.post(
        "/v1/outcomes",
        json={"source": payload["source"], "external_id": payload["external_id"], **outcome},
    )
    assert (by_id.status_code, by_pair.status_code) == (404, 404)
    with psycopg.connect(live_api.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM outcomes WHERE ticket_id = %s", (created["ticket_id"],)
        ).fetchone()
    assert row == (0,)


def test_an_outcome_by_source_and_external_id_lands_on_the_callers_own_ticket(
    client, other, live_api
):
    payload = _payload("Please raise my card limit")
    a = client.post("/v1/tickets", json=payload).json()
    b = other.post("/v1/tickets", json=payload).json()
    pair = {"source": payload["source"], "external_id": payload["external_id"]}
    r = other.post("/v1/outcomes", json={**pair, "queue": "card_usage", "priority": "P3"})
    assert r.status_code == 200, r.text
    assert r.json()["ticket_id"] == b["ticket_id"]
    with psycopg.connect(live_api.database_url) as conn:
        rows = conn.execute(
            "SELECT ticket_id::text, queue FROM outcomes WHERE ticket_id = ANY(%s::uuid[])",
            ([a["ticket_id"], b["ticket_id"]],),
        ).fetchall()
    assert rows == [(b["ticket_id"], "card_usage")]


def test_a_tickets_trace_names_no_other_tenants_ticket(client, other):
    # B's ticket becomes history (an outcome with its embedding): the nearest neighbour of A's
    # ticket with the same text. A's trace keeps the neighbour's route and distance (the
    # evidence of A's route) but not B's ticket id.
    text = "My card payment was declined at the supermarket twice today"
    theirs = other.post("/v1/tickets", json=_payload(text)).json()
    recorded = other.post(
        "/v1/outcomes",
        json={"ticket_id": theirs["ticket_id"], "queue": "card_payments", "priority": "P3"},
    )
    assert recorded.status_code == 200, recorded.text
    mine = client.post("/v1/tickets", json=_payload(text)).json()
    read = client.get(f"/v1/tickets/{mine['ticket_id']}")
    assert read.status_code == 200
    retrieve = next(s for s in read.json()["spans"] if s["name"] == "retrieve")
    nearest = retrieve["output"]["neighbours"][0]
    assert (nearest["queue"], nearest["distance"]) == ("card_payments", 0.0)
    assert nearest["ticket_id"] is None
    assert theirs["ticket_id"] not in read.text
    # The tenant's own neighbours keep their ids.
    again = client.post("/v1/tickets", json=_payload(text)).json()
    client.post(
        "/v1/outcomes",
        json={"ticket_id": again["ticket_id"], "queue": "card_payments", "priority": "P3"},
    )
    last = client.post("/v1/tickets", json=_payload(text)).json()
    spans = client.get(f"/v1/tickets/{last['ticket_id']}").json()["spans"]
    ids = {
        n["ticket_id"] for s in spans if s["name"] == "retrieve" for n in s["output"]["neighbours"]
    }
    assert again["ticket_id"] in ids
    assert theirs["ticket_id"] not in ids
