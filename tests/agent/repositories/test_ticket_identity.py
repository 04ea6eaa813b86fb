"""The hot path's ticket identity on real Postgres: ``(tenant, source, external_id)``, with
tickets of no tenant (the evals' parity runs, loaded history) deduplicated among themselves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg

from agent.repositories import tickets
from tests.dbutil import add_tenant


def _values(tenant_id: uuid.UUID | None, external_id: str) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "source": "desk",
        "external_id": external_id,
        "subject": "",
        "body": "my card was declined",
        "customer_id": None,
        "channel": "web",
        "metadata": {},
        "received_at": datetime.now(UTC),
    }


async def test_each_tenant_and_no_tenant_own_a_pair_once(fresh_db_url):
    a, b = add_tenant(fresh_db_url), add_tenant(fresh_db_url)
    firsts = {owner: _values(owner, "42") for owner in (a, b, None)}
    async with await psycopg.AsyncConnection.connect(fresh_db_url, autocommit=True) as conn:
        for owner, values in firsts.items():
            assert await tickets.insert_new(conn, values), owner  # new for each owner
        for owner in firsts:
            assert not await tickets.insert_new(conn, _values(owner, "42")), owner  # duplicate
            found = await tickets.row_by_external_id(conn, owner, "desk", "42")
            assert found is not None and found["id"] == firsts[owner]["id"]
            assert found["tenant_id"] == owner
        assert await tickets.row_by_external_id(conn, a, "desk", "43") is None
