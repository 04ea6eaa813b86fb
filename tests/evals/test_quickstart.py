"""``ticketwatch quickstart`` end to end: a generated ServiceNow export (cp1252, semicolons,
local timestamps) to a promoted version, a golden set disjoint from history, an eval report,
a report page and a working tenant key, against the real embedder and Postgres; a rerun
skips every step; a changed export and a bad row are clear errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import typer
from typer.testing import CliRunner

from agent.api.app import create_app
from agent.config import get_settings
from agent.datasets.records import LabelledTicket
from agent.taxonomy import load_taxonomy
from evals.cli import register
from evals.golden.cases import read_golden
from evals.golden.store import golden_dir
from evals.quickstart import STEPS, split_golden
from evals.quickstart_report import render_report
from tests.agent.datasets.exports import QUEUES, tickets, write_export
from tests.conftest import Servers
from tests.live import ServerThread, settings_for

runner = CliRunner()
PER_QUEUE = 40
ARGS = ("--preset", "servicenow", "--timezone", "UTC", "--golden-share", "0.2")


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def cli_env(servers: Servers, fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("REDIS_URL", servers.redis_url)
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(servers.data_dir))
    monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
    monkeypatch.setenv("TICKETWATCH_EVAL_CONCURRENCY", "4")
    get_settings.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def _post_ticket(servers: Servers, database_url: str, key: str) -> httpx.Response:
    """A billing ticket through the real API served on the quickstart's database."""
    settings = settings_for(
        database_url=database_url, redis_url=servers.redis_url, data_dir=servers.data_dir
    )
    with ServerThread(create_app(settings, plugins=False)) as server:
        with httpx.Client(
            base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {key}"}
        ) as client:
            return client.post(
                "/v1/tickets",
                json={
                    "source": "tests",
                    "external_id": "qs-1",
                    "body": "Invoice 42 charged twice: our finance team sees a duplicate "
                    "charge on the invoice; please refund it.",
                },
            )


def _production(conn: psycopg.Connection) -> tuple[str, ...] | None:
    return conn.execute(
        "SELECT v.semver FROM version_labels l JOIN agent_versions v "
        "ON v.id = l.agent_version_id WHERE l.label = 'production'"
    ).fetchone()


def _history_ids(conn: psycopg.Connection, source: str) -> set[str]:
    return {
        r[0] for r in conn.execute("SELECT external_id FROM tickets WHERE source = %s", (source,))
    }


def test_quickstart_from_an_export_to_a_promoted_evaluated_version(
    cli_env: str, servers: Servers, tmp_path: Path
) -> None:
    export = write_export(
        tmp_path / "incidents.csv", "servicenow", tickets("servicenow", PER_QUEUE, seed=4)
    )
    out = tmp_path / "qs"
    result = runner.invoke(cli(), ["quickstart", str(export), *ARGS, "--out", str(out)])
    assert result.exit_code == 0, result.output
    state = json.loads((out / "quickstart.json").read_text())
    assert list(state["steps"]) == list(STEPS)
    taxonomy = load_taxonomy(str(out / "taxonomy.yaml"))
    assert len(taxonomy.queues) == len(QUEUES)

    with psycopg.connect(cli_env) as conn:
        production = _production(conn)
        history_ids = _history_ids(conn, state["steps"]["history"]["source"])
        golden_file = conn.execute("SELECT file_name FROM golden_sets").fetchone()
    assert production == ("1.0.0",)
    assert golden_file is not None
    cases = read_golden(golden_dir(servers.data_dir) / golden_file[0])
    golden_ids = {c.tag("id") for c in cases}
    total = PER_QUEUE * len(QUEUES)
    # 20% of each queue's 40 rows: 8 per queue to golden, the rest to history, none in both.
    assert len(golden_ids) == len(cases) == len(QUEUES) * 8
    assert len(history_ids) == total - len(cases)
    assert not golden_ids & history_ids

    eval_report = json.loads((out / "eval.json").read_text())
    assert eval_report["metrics"]["n_cases"] == len(cases)
    figures = state["steps"]["eval"]["figures"]
    # Each queue has its own vocabulary: the kNN routes nearly all of it right.
    assert figures["queue_accuracy"] >= 0.7, figures
    page = (out / "report.html").read_text()
    assert "Evaluation on the golden set" in page and "ticketwatch serve" in page
    assert f"{100 * figures['queue_accuracy']:.1f}%" in page

    key = re.search(r"\btw_[A-Za-z0-9_-]{20,}", result.stdout)
    assert key is not None, result.stdout
    assert _post_ticket(servers, cli_env, "tw_not-a-key").status_code == 401
    served = _post_ticket(servers, cli_env, key.group(0))
    assert served.status_code == 201, served.text
    # The generated billing tickets share this wording: the knn routes it, not a person.
    assert served.json()["routed_to"] == "billing_payments", served.json()
    for path in out.iterdir():  # the key is printed once and stored nowhere
        assert key.group(0) not in path.read_text()
    for command in ("ticketwatch serve", "ticketwatch worker", "ticketwatch beat"):
        assert command in result.stdout

    again = runner.invoke(cli(), ["quickstart", str(export), *ARGS, "--out", str(out)])
    assert again.exit_code == 0, again.output
    for step in STEPS:
        assert f"{step}: done already" in again.stdout
    assert key.group(0) not in again.stdout and "not shown again" in again.stdout
    with psycopg.connect(cli_env) as conn:
        assert conn.execute("SELECT count(*) FROM agent_versions").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM tenants").fetchone() == (1,)

    row = b"INC9;2026-11-01 10:00;VPN drops;y;4 - Low;Closed;Network / VPN\r\n"
    export.write_bytes(export.read_bytes() + row)
    changed = runner.invoke(cli(), ["quickstart", str(export), *ARGS, "--out", str(out)])
    assert changed.exit_code == 2
    assert "records another export" in changed.output and "--restart" in changed.output

    given = ("--taxonomy", str(out / "taxonomy.yaml"), "--version", "1.1.0", "--tenant", "b")
    restart = [*ARGS, "--out", str(out), "--restart", *given]
    restarted = runner.invoke(cli(), ["quickstart", str(export), *restart])
    assert restarted.exit_code == 0, restarted.output
    assert "skipped" not in restarted.stdout and "given" in restarted.stdout
    state = json.loads((out / "quickstart.json").read_text())
    other = runner.invoke(
        cli(),
        [
            "quickstart",
            str(export),
            *ARGS,
            "--out",
            str(out),
            "--taxonomy",
            str(tmp_path / "incidents.csv"),
        ],
    )
    assert other.exit_code == 2 and "leave --taxonomy out" in other.output
    with psycopg.connect(cli_env) as conn:
        assert _production(conn) == ("1.1.0",)
        history_ids = _history_ids(conn, state["steps"]["history"]["source"])
        golden_file = conn.execute(
            "SELECT file_name FROM golden_sets WHERE version = '1.1.0'"
        ).fetchone()
    assert golden_file is not None
    cases = read_golden(golden_dir(servers.data_dir) / golden_file[0])
    assert len(history_ids) + len(cases) == total + 1
    assert not {c.tag("id") for c in cases} & history_ids


def test_a_bad_row_stops_quickstart_before_anything_is_written(
    cli_env: str, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "incidents.csv", "servicenow", tickets("servicenow", 5))
    lines = export.read_bytes().split(b"\r\n")  # quoted newlines in a row are bare \n
    lines[1] = re.sub(rb";[1-4] - [A-Za-z]+;", b";Whenever;", lines[1], count=1)
    export.write_bytes(b"\r\n".join(lines))
    out = tmp_path / "qs"
    result = runner.invoke(cli(), ["quickstart", str(export), *ARGS, "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert re.search(r"incidents\.csv:2: column 'priority': unknown priority", result.output)
    assert not (out / "taxonomy.yaml").exists() and not (out / "quickstart.json").exists()
    with psycopg.connect(cli_env) as conn:
        assert conn.execute("SELECT count(*) FROM tickets").fetchone() == (0,)


def test_golden_split_is_stratified_seeded_and_disjoint() -> None:
    rows = [LabelledTicket(f"t{i}", f"q{i % 3}", "P3") for i in range(30)] + [
        LabelledTicket("a", "small", "P3"),
        LabelledTicket("b", "small", "P3"),
    ]
    golden, history = split_golden(rows, share=0.2, seed=1)
    assert sorted(golden + history) == list(range(len(rows)))
    assert [sum(rows[i].queue == f"q{q}" for i in golden) for q in range(3)] == [2, 2, 2]
    assert sum(rows[i].queue == "small" for i in history) >= 1  # a queue keeps history
    assert split_golden(rows, share=0.2, seed=1) == (golden, history)
    assert split_golden(rows, share=0.2, seed=2) != (golden, history)


def test_report_page_escapes_what_it_shows() -> None:
    state = {
        "input": {"file": "<b>x.csv</b>", "sha256": "ab" * 32},
        "steps": {"taxonomy": {"what": "<script>alert(1)</script>", "done_at": "2026"}},
    }
    page = render_report(state, ["ticketwatch serve"])
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page
    assert "&lt;b&gt;x.csv" in page
