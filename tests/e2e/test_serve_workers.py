"""``ticketwatch serve --workers 2``: two API processes, one set of metrics.

Each process counts the tickets it routes; every scrape, whichever process answers it, must
report the sum, and a stopped server leaves no metric files behind.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from agent.datasets.banking77 import labelled_records
from agent.embed import get_embedder
from agent.taxonomy import load_taxonomy
from tests.factories import stratified
from tests.live import ApiProcess, set_up_agent, settings_for

pytestmark = pytest.mark.e2e

TICKETS = re.compile(r"^ticketwatch_tickets_total\{[^}]*\} ([0-9.e+]+)$", re.MULTILINE)


def tickets_counted(metrics: str) -> float:
    return sum(float(v) for v in TICKETS.findall(metrics))


def test_two_api_processes_report_every_ticket_on_every_scrape(servers, fresh_db_url):
    settings = settings_for(
        database_url=fresh_db_url, redis_url=servers.redis_url, data_dir=servers.data_dir
    )
    history = stratified(labelled_records("train", load_taxonomy("banking77")), 20)
    setup = set_up_agent(settings, history, get_embedder(settings))
    api = ApiProcess(
        database_url=fresh_db_url,
        redis_url=servers.redis_url,
        data_dir=servers.data_dir,
        args=["--workers", "2"],
    ).start()
    run_dir = servers.data_dir / "run"
    try:
        headers = {"Authorization": f"Bearer {setup.api_key}"}
        n = 16
        # a fresh connection for every request, so that both processes route and answer
        for i in range(n):
            r = httpx.post(
                f"{api.url}/v1/tickets",
                headers=headers,
                timeout=60,
                json={
                    "source": "workers",
                    "external_id": uuid.uuid4().hex,
                    "body": f"my card payment was declined at shop {i}",
                },
            )
            assert r.status_code == 201, r.text
        for _ in range(8):
            text = httpx.get(f"{api.url}/metrics", timeout=30).text
            assert tickets_counted(text) == n
            assert 'ticketwatch_kill_switch_enabled{key="global"} 0.0' in text
        # both processes wrote their values, in this serve's own directory
        (metrics_dir,) = run_dir.glob("metrics-*")
        assert len(list(metrics_dir.glob("counter_*.db"))) == 2
    finally:
        api.stop()
    assert not list(run_dir.glob("metrics-*"))
