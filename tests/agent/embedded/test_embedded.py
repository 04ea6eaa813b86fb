"""The embedded Postgres and Redis: start, share, survive a crash, stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import psycopg
import pytest
import redis

from agent.embedded.manager import EmbeddedServices

pytestmark = pytest.mark.slow  # starts Postgres and Redis servers per test


@pytest.fixture
def services(embedded_dir: Path):
    svc = EmbeddedServices(embedded_dir / "tw")
    yield svc
    svc.down()


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["TICKETWATCH_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "agent", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_up_starts_both_servers_and_status_reports_them(services):
    records = services.up()
    with psycopg.connect(records["postgres"].url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("ticketwatch",)
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()
        assert available == (1,)
    assert redis.Redis.from_url(records["redis"].url).ping()
    status = {s.name: s for s in services.status()}
    assert status["postgres"].running and status["postgres"].pid == records["postgres"].pid
    assert status["redis"].running and status["redis"].url == records["redis"].url


def test_redis_refuses_clients_without_the_password(services):
    url = services.up()["redis"].url
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=port).ping()


def test_up_is_idempotent_and_shared(services):
    first = services.up()
    again = EmbeddedServices(services.root.parent).up()
    assert {n: r.pid for n, r in first.items()} == {n: r.pid for n, r in again.items()}


def test_concurrent_processes_share_one_instance(embedded_dir):
    data_dir = embedded_dir / "shared"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, json; from pathlib import Path; "
                "from agent.embedded.manager import EmbeddedServices; "
                "r = EmbeddedServices(Path(sys.argv[1])).up(); "
                "print(json.dumps({n: x.pid for n, x in r.items()}))",
                str(data_dir),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    try:
        assert all(o == outputs[0] for o in outputs)
        postmasters = [
            p
            for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "postgres" and str(data_dir) in " ".join(p.info["cmdline"] or [])
        ]
        assert len([p for p in postmasters if p.pid == outputs[0]["postgres"]]) == 1
    finally:
        EmbeddedServices(data_dir).down()


def test_a_crash_is_recovered_on_the_next_up_and_data_survives(services):
    records = services.up()
    with psycopg.connect(records["postgres"].url, autocommit=True) as conn:
        conn.execute("CREATE TABLE survives (x int)")
        conn.execute("INSERT INTO survives VALUES (42)")
    os.kill(records["postgres"].pid, signal.SIGKILL)
    os.kill(records["redis"].pid, signal.SIGKILL)
    psutil.wait_procs([psutil.Process(records["redis"].pid)], timeout=5)
    assert not any(s.running for s in services.status())

    again = services.up()
    assert again["postgres"].pid != records["postgres"].pid
    with psycopg.connect(again["postgres"].url) as conn:
        assert conn.execute("SELECT x FROM survives").fetchone() == (42,)
    assert redis.Redis.from_url(again["redis"].url).ping()


def test_redis_restarts_on_its_port_while_its_closed_connections_linger(services):
    """Processes keep the URL they started with: a restart on another port cut them off."""
    url = services.up(("redis",))["redis"].url
    client = redis.Redis.from_url(url)
    assert client.ping()  # a connection the server closes on stop: TIME_WAIT on its port
    services.redis.stop()
    assert services.up(("redis",))["redis"].url == url
    assert client.ping()  # the old client reconnects


def test_a_corrupt_state_file_is_recovered(services):
    services.up()
    services.state_file.write_text("{not json")
    records = services.up()
    assert {s.name for s in services.status() if s.running} == {"postgres", "redis"}
    assert json.loads(services.state_file.read_text())["postgres"]["pid"] == records["postgres"].pid


def test_down_stops_both(services):
    records = services.up()
    services.down()
    assert (
        not psutil.pid_exists(records["redis"].pid)
        or psutil.Process(records["redis"].pid).status() == psutil.STATUS_ZOMBIE
    )
    assert all(not s.running for s in services.status())


def test_cli_services_status_shows_both_and_migrate_twice_succeeds(embedded_dir):
    data_dir = embedded_dir / "cli"
    try:
        assert _cli(data_dir, "services", "up").returncode == 0
        status = json.loads(_cli(data_dir, "services", "status", "--json").stdout)
        assert {s["name"]: s["running"] for s in status} == {"postgres": True, "redis": True}
        assert "***" in next(s["url"] for s in status if s["name"] == "redis")
        first, second = _cli(data_dir, "migrate"), _cli(data_dir, "migrate")
        assert first.returncode == 0, first.stderr
        assert second.returncode == 0 and "already up to date" in second.stdout
    finally:
        _cli(data_dir, "services", "down")
