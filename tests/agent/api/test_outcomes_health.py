"""Outcomes become history; health, readiness and metrics report the truth."""

from __future__ import annotations

import re
import uuid

import psycopg
from redis import Redis


def test_an_outcome_becomes_history_with_the_tickets_embedding(client, live_api):
    created = client.post(
        "/v1/tickets",
        json={
            "source": "tests",
            "external_id": uuid.uuid4().hex,
            "body": "I need to verify my identity",
        },
    ).json()
    r = client.post(
        "/v1/outcomes",
        json={
            "ticket_id": created["ticket_id"],
            "queue": "identity_and_onboarding",
            "priority": "P3",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["agent_routed_to"] == created["routed_to"]
    with psycopg.connect(live_api.database_url) as conn:
        row = conn.execute(
            "SELECT queue, source, embedding IS NOT NULL FROM outcomes WHERE ticket_id = %s",
            (created["ticket_id"],),
        ).fetchone()
    assert row == ("identity_and_onboarding", "helpdesk", True)


def test_an_outcome_by_source_and_external_id_replaces_the_earlier_one(client):
    ext = uuid.uuid4().hex
    client.post("/v1/tickets", json={"source": "tests", "external_id": ext, "body": "fee?"})
    for queue in ("transfers", "fees_and_charges"):
        r = client.post(
            "/v1/outcomes",
            json={"source": "tests", "external_id": ext, "queue": queue, "priority": "P4"},
        )
        assert r.status_code == 200
    assert r.json()["queue"] == "fees_and_charges"


def test_an_outcome_for_an_unknown_ticket_is_404(client):
    r = client.post(
        "/v1/outcomes",
        json={"ticket_id": str(uuid.uuid4()), "queue": "transfers", "priority": "P3"},
    )
    assert r.status_code == 404


def test_an_outcome_outside_the_taxonomy_is_422(client):
    created = client.post(
        "/v1/tickets", json={"source": "tests", "external_id": uuid.uuid4().hex, "body": "hello"}
    ).json()
    r = client.post(
        "/v1/outcomes", json={"ticket_id": created["ticket_id"], "queue": "nope", "priority": "P3"}
    )
    assert r.status_code == 422 and "not in taxonomy" in r.json()["error"]["message"]
    r = client.post(
        "/v1/outcomes",
        json={"ticket_id": created["ticket_id"], "queue": "transfers", "priority": "P9"},
    )
    assert r.status_code == 422


def test_health_ready_and_detailed(client, live_api):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    checks = {c["name"]: c for c in ready.json()["checks"]}
    assert all(c["ok"] for c in checks.values())
    assert checks["classifier"]["version"] == live_api.setup.version
    detailed = client.get("/health/detailed").json()
    assert detailed["status"] == "ok" and detailed["kill_switches_on"] == []


def test_metrics_count_tickets_by_route_and_mode(client):
    client.post(
        "/v1/tickets",
        json={
            "source": "tests",
            "external_id": uuid.uuid4().hex,
            "body": "card declined at the shop",
        },
    )
    text = client.get("/metrics").text
    assert "ticketwatch_tickets_total{" in text
    assert "ticketwatch_decision_latency_seconds_bucket" in text
    assert 'ticketwatch_kill_switch_enabled{key="global"} 0.0' in text


def _responses(client, route: str, status: str) -> float:
    """The API's count of ``route``'s responses of ``status`` class, from its /metrics."""
    pattern = re.compile(
        r'^ticketwatch_http_responses_total\{(?=[^}]*method="POST")(?=[^}]*route="'
        + re.escape(route)
        + r'")(?=[^}]*status="'
        + status
        + r'")[^}]*\} (\S+)$',
        re.M,
    )
    found = pattern.findall(client.get("/metrics").text)
    return sum(float(v) for v in found)


def test_responses_are_counted_by_route_template_and_status_class(client):
    before_ok = _responses(client, "/v1/tickets", "2xx")
    before_bad = _responses(client, "/v1/tickets", "4xx")
    ticket = {"source": "tests", "external_id": uuid.uuid4().hex, "body": "card declined"}
    assert client.post("/v1/tickets", json=ticket).status_code == 201
    assert client.post("/v1/tickets", json={"source": "tests"}).status_code == 422
    assert client.post("/v1/no-such-path", json=ticket).status_code in (404, 405)
    assert _responses(client, "/v1/tickets", "2xx") == before_ok + 1
    assert _responses(client, "/v1/tickets", "4xx") == before_bad + 1
    # a path no route serves is counted under one label, never under its raw path
    text = client.get("/metrics").text
    assert 'route="unmatched"' in text and "no-such-path" not in text


def _gauge(client, queue: str) -> float:
    found = re.findall(
        r'^ticketwatch_queue_depth\{queue="' + queue + r'"\} (\S+)$',
        client.get("/metrics").text,
        re.M,
    )
    assert len(found) == 1, f"no queue depth for {queue}"
    return float(found[0])


def test_queue_depths_are_read_from_the_broker_and_the_review_queue(client, live_api):
    redis = Redis.from_url(live_api.settings.redis_url.get_secret_value())
    marker = f"test-message-{uuid.uuid4().hex}"
    before = _gauge(client, "monitor_tasks")
    redis.lpush("monitor", marker, marker)
    redis.lpush("monitor\x06\x169", marker)  # a prioritised task sits in a sibling list
    try:
        assert _gauge(client, "monitor_tasks") == before + 3
    finally:
        redis.lrem("monitor", 0, marker)
        redis.lrem("monitor\x06\x169", 0, marker)
        redis.close()
    assert _gauge(client, "monitor_tasks") == before

    # a ticket unlike the history goes to human triage, which always asks for a review
    for text in ("my card was charged twice", "zqxj vvrk plmw ghtt frobnicate the quux"):
        body = {"source": "tests", "external_id": uuid.uuid4().hex, "body": text}
        assert client.post("/v1/tickets", json=body).status_code == 201
    with psycopg.connect(live_api.database_url) as conn:
        (open_reviews,) = conn.execute(
            "SELECT count(*) FROM decisions d WHERE d.is_final AND d.sampled_for_review"
            " AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.decision_id = d.id)"
        ).fetchone()
    assert open_reviews >= 1
    assert _gauge(client, "review") == open_reviews
