"""Submitting tickets through the real HTTP API: routing, storage, traces, idempotency."""

from __future__ import annotations

import threading
import uuid

import psycopg

NODES = ["guard", "version", "embed", "retrieve", "gate", "classify", "decide", "record"]


def ticket(body: str, **extra: object) -> dict[str, object]:
    return {"source": "tests", "external_id": uuid.uuid4().hex, "body": body, **extra}


def test_a_ticket_is_routed_and_its_decision_embedding_and_spans_are_stored(client, live_api):
    r = client.post(
        "/v1/tickets",
        json=ticket(
            "My new card still has not arrived after two weeks", channel="email", customer_id="c-1"
        ),
    )
    assert r.status_code == 201, r.text
    route = r.json()
    assert route["duplicate"] is False
    assert route["routed_to"] in ("card_orders", "human_triage")
    assert abs(sum(route["probabilities"]["queue"].values()) - 1) < 1e-6
    with psycopg.connect(live_api.database_url) as conn:
        d = conn.execute(
            "SELECT queue_probs, entropy, confidence, agent_version_id, latency_ms, classifier "
            "FROM decisions WHERE ticket_id = %s AND is_final",
            (route["ticket_id"],),
        ).fetchone()
        has_embedding = conn.execute(
            "SELECT embedding IS NOT NULL FROM tickets WHERE id = %s", (route["ticket_id"],)
        ).fetchone()
        spans = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM trace_spans WHERE ticket_id = %s ORDER BY started_at, id",
                (route["ticket_id"],),
            )
        ]
    queue_probs, entropy, confidence, version_id, latency_ms, classifier = d
    assert queue_probs == route["probabilities"]["queue"]
    assert entropy > 0 and 0 < confidence <= 1 and latency_ms > 0
    assert str(version_id) == route["agent_version_id"] and classifier == "knn"
    assert has_embedding == (True,)
    assert spans == NODES


def test_reading_a_ticket_returns_its_decision_and_one_span_per_node(client):
    created = client.post("/v1/tickets", json=ticket("How do I top up by bank transfer?")).json()
    r = client.get(f"/v1/tickets/{created['ticket_id']}")
    assert r.status_code == 200
    body = r.json()
    assert body["decision"]["id"] == created["decision_id"]
    assert body["has_embedding"] is True
    assert [s["name"] for s in body["spans"]] == NODES
    assert all(s["duration_ms"] >= 0 for s in body["spans"])
    retrieve = next(s for s in body["spans"] if s["name"] == "retrieve")
    assert len(retrieve["output"]["neighbours"]) == 15


def test_routes_real_tickets_mostly_to_their_true_queue(client, banking77_test):
    sample = banking77_test[::97][:30]
    correct = 0
    for rec in sample:
        route = client.post("/v1/tickets", json=ticket(rec.text)).json()
        correct += route["queue"] == rec.queue
    assert correct / len(sample) >= 0.7


def test_a_resubmission_returns_the_first_decision(client):
    payload = ticket("I was charged twice for the same payment")
    first = client.post("/v1/tickets", json=payload)
    again = client.post("/v1/tickets", json=payload)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["decision_id"] == first.json()["decision_id"]
    assert again.json()["duplicate"] is True


def test_concurrent_duplicate_submissions_make_one_ticket_and_one_decision(live_api):
    payload = ticket("Someone used my card without my permission, please block it")
    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(16)

    def submit() -> None:
        with live_api.client() as c:
            barrier.wait()
            r = c.post("/v1/tickets", json=payload)
            results.append((r.status_code, r.json()["decision_id"]))

    threads = [threading.Thread(target=submit) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(code for code, _ in results) == [200] * 15 + [201]
    assert len({d for _, d in results}) == 1
    with psycopg.connect(live_api.database_url) as conn:
        counts = conn.execute(
            "SELECT count(DISTINCT t.id), count(d.id) FROM tickets t "
            "LEFT JOIN decisions d ON d.ticket_id = t.id WHERE t.source = %s "
            "AND t.external_id = %s",
            (payload["source"], payload["external_id"]),
        ).fetchone()
    assert counts == (1, 1)


def test_received_at_and_metadata_are_kept(client):
    payload = ticket(
        "Exchange rate looks wrong",
        received_at="2026-03-01T10:00:00+02:00",
        metadata={"lang": "en", "tags": ["vip"]},
    )
    created = client.post("/v1/tickets", json=payload).json()
    body = client.get(f"/v1/tickets/{created['ticket_id']}").json()
    assert body["received_at"].startswith("2026-03-01T08:00:00")
    assert body["metadata"] == {"lang": "en", "tags": ["vip"]}


def test_a_tenant_cannot_read_another_tenants_ticket(client, live_api):
    import asyncio

    from agent.services.operators import Actor
    from agent.services.tenants import create_tenant
    from tests.asyncdb import session_for

    async def other_key() -> str:
        async with session_for(live_api.database_url) as s:
            return (
                await create_tenant(
                    s, name=f"other-{uuid.uuid4().hex[:6]}", actor=Actor("tests", "admin")
                )
            )[1]

    created = client.post("/v1/tickets", json=ticket("Where is my refund?")).json()
    with live_api.client(key=asyncio.run(other_key())) as other:
        assert other.get(f"/v1/tickets/{created['ticket_id']}").status_code == 404
