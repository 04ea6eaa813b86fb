"""Bad input gets a clear error, never a 500, and stores nothing."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest


def count_tickets(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM tickets").fetchone()[0])  # type: ignore[index]


@pytest.fixture
def before(live_api) -> int:
    return count_tickets(live_api.database_url)


def fields(r: httpx.Response) -> set[str]:
    return {f["field"] for f in r.json()["error"]["fields"]}


def test_missing_fields_are_named(client, live_api, before):
    r = client.post("/v1/tickets", json={"subject": "hi"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    assert {"source", "external_id", "body"} <= fields(r)
    assert count_tickets(live_api.database_url) == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": 42}, "body"),
        ({"body": "   "}, "body"),
        ({"body": "has a \x00 NUL"}, "body"),
        ({"channel": "E-Mail!"}, "channel"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"received_at": "2026-01-01T10:00:00"}, "received_at"),
        ({"unexpected": 1}, "unexpected"),
        ({"body": "x" * 20_001}, "body"),
    ],
)
def test_wrong_fields_get_422_naming_the_field(client, payload, field):
    base = {"source": "tests", "external_id": uuid.uuid4().hex, "body": "card missing"}
    r = client.post("/v1/tickets", json={**base, **payload})
    assert r.status_code == 422, r.text
    assert field in fields(r)


def test_oversized_body_gets_413(client, live_api, before):
    big = {
        "source": "tests",
        "external_id": "big",
        "body": "x" * 19_000,
        "metadata": {"blob": "y" * 100_000},
    }
    r = client.post("/v1/tickets", json=big)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"
    assert count_tickets(live_api.database_url) == before


def test_oversized_chunked_body_gets_413(client):
    def chunks():
        yield b'{"source": "tests", "external_id": "chunked", "body": "'
        for _ in range(100):
            yield b"z" * 1024
        yield b'"}'

    r = client.post("/v1/tickets", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_non_json_gets_400(client, before, live_api):
    r = client.post(
        "/v1/tickets", content=b"source=tests&body=hi", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    assert count_tickets(live_api.database_url) == before


def test_invalid_utf8_gets_400(client):
    r = client.post(
        "/v1/tickets",
        content=b'{"source": "t", "external_id": "u", "body": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_utf8"


def _raw_ticket(metadata_json: str) -> bytes:
    head = f'{{"source": "tests", "external_id": "{uuid.uuid4().hex}", "body": "card missing"'
    return f'{head}, "metadata": {metadata_json}}}'.encode()


@pytest.mark.parametrize(
    ("metadata_json", "status"),
    [
        ('{"\\ud800x": 1}', 422),  # an unpaired surrogate escape in a key
        ('{"note": "a\\udc00b"}', 422),  # and in a value
        ('{"a": ' + "[" * 40 + "]" * 40 + "}", 422),  # deeper than the metadata limit
        ('{"a": ' + "[" * 30_000 + "]" * 30_000 + "}", 400),  # deeper than JSON decoding goes
    ],
)
def test_metadata_postgres_cannot_hold_gets_a_clear_error(
    client, live_api, before, metadata_json, status
):
    r = client.post(
        "/v1/tickets",
        content=_raw_ticket(metadata_json),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == status, r.text
    if status == 422:
        assert fields(r) == {"metadata"}
    assert count_tickets(live_api.database_url) == before


def test_integers_beyond_64_bits_in_metadata_are_stored_exactly(client, live_api):
    big = 32928438025381642240
    r = client.post(
        "/v1/tickets",
        content=_raw_ticket(f'{{"ids": [{big}, -{big}], "pair": "\\ud81e\\udeb9"}}'),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text
    with psycopg.connect(live_api.database_url) as conn:
        row = conn.execute(
            "SELECT metadata FROM tickets WHERE id = %s", (r.json()["ticket_id"],)
        ).fetchone()
    assert row is not None
    assert row[0] == {"ids": [big, -big], "pair": "\U00017ab9"}
    shown = client.get(f"/v1/tickets/{r.json()['ticket_id']}")
    assert shown.status_code == 200 and shown.json()["metadata"]["ids"] == [big, -big]


def test_wrong_content_type_gets_415(client):
    r = client.post("/v1/tickets", content=b"hello", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415


def test_missing_or_wrong_api_key_gets_401(live_api):
    with httpx.Client(base_url=live_api.url) as anon:
        body = {"source": "tests", "external_id": "k", "body": "hi"}
        assert anon.post("/v1/tickets", json=body).status_code == 401
        r = anon.post("/v1/tickets", json=body, headers={"Authorization": "Bearer tw_wrong"})
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"


def test_the_openapi_document_describes_every_route_and_its_errors(client):
    doc = client.get("/openapi.json").json()
    assert {
        "/v1/tickets",
        "/v1/tickets/{ticket_id}",
        "/v1/outcomes",
        "/health",
        "/ready",
        "/health/detailed",
    } <= set(doc["paths"])
    responses = doc["paths"]["/v1/tickets"]["post"]["responses"]
    assert {"200", "201", "400", "401", "413", "415", "422", "429", "503"} <= set(responses)


def test_a_tenant_over_its_rate_limit_gets_429_with_retry_after(live_api):
    import asyncio

    from agent.services.operators import Actor
    from agent.services.tenants import create_tenant
    from tests.asyncdb import session_for

    async def limited_key() -> str:
        async with session_for(live_api.database_url) as s:
            _, key = await create_tenant(
                s,
                name=f"limited-{uuid.uuid4().hex[:6]}",
                actor=Actor("tests", "admin"),
                rate_limit_per_minute=3,
            )
            return key

    with live_api.client(key=asyncio.run(limited_key())) as c:
        codes = [
            c.post(
                "/v1/tickets",
                json={"source": "tests", "external_id": uuid.uuid4().hex, "body": "card declined"},
            )
            for _ in range(4)
        ]
    assert [r.status_code for r in codes[:3]] == [201, 201, 201]
    assert codes[3].status_code == 429
    assert 0 < int(codes[3].headers["Retry-After"]) <= 60
    assert codes[3].json()["error"]["code"] == "rate_limited"
