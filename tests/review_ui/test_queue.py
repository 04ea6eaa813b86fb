"""The review queue with thousands of decisions: keyset pages of the configured size, flagged
first, served by the partial index."""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.dialects import postgresql

from agent.api.app import create_app
from review_ui import install
from review_ui.repositories.queue import Cursor, QueueFilters, page, page_statement
from tests.asyncdb import session_for
from tests.dbutil import create_database, drop_database, unique_name
from tests.live import ServerThread, settings_for
from tests.live_ui import LiveUi, csrf_of
from tests.review_ui.seed import seed_decisions, seed_version_and_users

N = 6000
FLAGGED = N // 7
SAMPLED = sum(1 for i in range(1, N + 1) if i % 7 and i % 10 == 0)
USERS = {"quinn": ("reviewer", "quinn-reviews-a-lot")}
ROW = re.compile(r'<tr class="row-link" data-ticket="([0-9a-f-]+)"')


@pytest.fixture(scope="module")
def bulk_url(servers, template_db) -> Iterator[str]:
    name = unique_name("tw_queue")
    create_database(servers.postgres_url, name, template=template_db)
    url = servers.database(name)
    version_id = seed_version_and_users(url, USERS)
    seed_decisions(url, n=N, version_id=version_id)
    yield url
    drop_database(servers.postgres_url, name)


async def test_pages_walk_the_queue_flagged_first_without_overlap(bulk_url):
    seen: list = []
    async with session_for(bulk_url) as session:
        cursor = None
        while True:
            rows = await page(session, QueueFilters(), after=cursor, limit=500)
            seen.extend(rows)
            if len(rows) < 500:
                break
            last = rows[-1]
            cursor = Cursor(last.needs_review, last.created_at, last.id)
    assert len(seen) == len({r.id for r in seen}) == FLAGGED + SAMPLED
    flags = [r.needs_review for r in seen]
    assert flags == sorted(flags, reverse=True)  # every flagged row before any sampled one
    flagged_times = [r.created_at for r in seen if r.needs_review]
    assert flagged_times == sorted(flagged_times, reverse=True)  # newest first


async def test_filters_narrow_the_queue(bulk_url):
    async with session_for(bulk_url) as session:
        rows = await page(
            session, QueueFilters(channel="email", mode="agent"), after=None, limit=1000
        )
    assert rows and all(r.channel == "email" and r.mode == "agent" for r in rows)
    assert len(rows) == sum(1 for i in range(1, N + 1) if i % 7 and i % 10 == 0 and i % 3 == 0)


def test_the_first_page_is_served_by_the_review_queue_index(bulk_url):
    stmt = page_statement(QueueFilters(), None, 50)
    compiled = stmt.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[attr-defined]
    with psycopg.connect(bulk_url) as conn:
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + str(compiled), compiled.params))
    # Read in queue order straight off the partial index: no sort of the whole queue.
    assert "Index Scan Backward using ix_decisions_review_queue" in plan
    assert "Sort" not in plan


def test_the_queue_page_answers_a_page_of_results_with_thousands_of_tickets(bulk_url, servers):
    settings = settings_for(
        database_url=bulk_url, redis_url=servers.redis_url, data_dir=servers.data_dir
    )
    app = create_app(settings, plugins=False)
    install(app)
    with ServerThread(app) as server:
        ui = LiveUi(server.url, settings, None, bulk_url)  # type: ignore[arg-type]
        client = ui.browser_client()
        token = csrf_of(client.get("/login").text)
        client.post(
            "/login", data={"username": "quinn", "password": USERS["quinn"][1], "csrf_token": token}
        )
        first = client.get("/review")
        assert first.status_code == 200
        rows = ROW.findall(first.text)
        assert len(rows) == settings.review_page_size
        assert f">{FLAGGED}<" in first.text and f">{SAMPLED}<" in first.text
        next_link = re.search(r'href="(/review\?after=[^"]+)"', first.text)
        assert next_link
        second = client.get(next_link.group(1).replace("&amp;", "&"))
        assert len(ROW.findall(second.text)) == settings.review_page_size
        assert not set(ROW.findall(second.text)) & set(rows)
