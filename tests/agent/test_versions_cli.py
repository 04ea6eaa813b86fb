"""``versions create --prompt``, ``show``, ``diff``, ``export`` and ``import`` from the terminal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app as cli_app
from agent.config import get_settings
from tests.dbutil import create_database, drop_database, unique_name

PROMPT = """\
system: |
  You sort tickets for {taxonomy_name}.
  {queues}
  Reply with {answer_format}.
user: |
  {examples}

  Customer wrote: {ticket}
few_shot: {k: 4, source: neighbours, style: inline}
"""


@pytest.fixture
def cli(servers, monkeypatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("REDIS_URL", servers.redis_url)
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(servers.data_dir))
    monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
    monkeypatch.setenv("COLUMNS", "200")
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture
def two_databases(servers, template_db) -> Iterator[tuple[str, str]]:
    names = [unique_name("tw_here"), unique_name("tw_there")]
    for name in names:
        create_database(servers.postgres_url, name, template=template_db)
    yield servers.database(names[0]), servers.database(names[1])
    for name in names:
        drop_database(servers.postgres_url, name)


def invoke(runner: CliRunner, monkeypatch, url: str, *args: str, code: int = 0) -> str:
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    result = runner.invoke(cli_app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_a_version_with_its_prompt_file_is_shown_diffed_and_moved_with_its_hash(
    cli, monkeypatch, two_databases, tmp_path: Path
) -> None:
    here, there = two_databases
    prompt = tmp_path / "prompt.yaml"
    prompt.write_text(PROMPT)
    create = ["versions", "create", "--classifier", "llm", "--model", "openai/m", "--no-calibrate"]
    invoke(cli, monkeypatch, here, *create, "1.0.0")
    invoke(
        cli, monkeypatch, here, *create, "1.1.0", "--prompt", str(prompt), "--llm", "samples_k=3"
    )

    shown = json.loads(invoke(cli, monkeypatch, here, "versions", "show", "1.1.0", "--json"))
    assert shown["content"]["prompt"]["few_shot"]["style"] == "inline"
    assert shown["content"]["params"]["llm"]["samples_k"] == 3
    listed = json.loads(invoke(cli, monkeypatch, here, "versions", "list", "--json"))
    assert {r["semver"]: r["content_hash"] for r in listed}["1.1.0"] == shown["content_hash"]
    text = invoke(cli, monkeypatch, here, "versions", "show", "1.1.0")
    assert shown["content_hash"] in text and "Customer wrote: {ticket}" in text

    diff = invoke(cli, monkeypatch, here, "versions", "diff", "1.0.0", "1.1.0", code=1)
    assert "params.llm.samples_k: 5 → 3" in diff
    assert 'prompt.few_shot.style: "turns" → "inline"' in diff
    assert "  +Customer wrote: {ticket}" in diff
    same = invoke(cli, monkeypatch, here, "versions", "diff", "1.0.0", "1.0.0")
    assert "same content" in same

    exported = tmp_path / "v.json"
    invoke(cli, monkeypatch, here, "versions", "export", "1.1.0", "-o", str(exported))
    assert "imported" in invoke(cli, monkeypatch, there, "versions", "import", str(exported))
    moved = json.loads(invoke(cli, monkeypatch, there, "versions", "show", "1.1.0", "--json"))
    assert moved["content_hash"] == shown["content_hash"]

    doc = json.loads(exported.read_text())
    doc["content"]["params"]["llm"]["samples_k"] = 4
    exported.write_text(json.dumps(doc))
    refused = invoke(cli, monkeypatch, there, "versions", "import", str(exported), code=1)
    assert "does not match its hash" in refused


def test_a_bad_prompt_file_is_refused_before_anything_is_fitted(
    cli, monkeypatch, two_databases, tmp_path: Path
) -> None:
    prompt = tmp_path / "prompt.yaml"
    prompt.write_text("system: '{queues}'\nuser: 'no ticket'\n")
    out = invoke(
        cli,
        monkeypatch,
        two_databases[0],
        *("versions", "create", "1.0.0", "--classifier", "llm", "--model", "openai/m"),
        *("--prompt", str(prompt)),
        code=2,
    )
    assert "must contain {ticket}" in out


def test_the_history_scope_is_part_of_the_version_its_hash_diff_and_export(
    cli, monkeypatch, two_databases, tmp_path: Path
) -> None:
    here, there = two_databases
    create = ["versions", "create", "--no-calibrate"]
    invoke(cli, monkeypatch, here, *create, "1.0.0")
    invoke(cli, monkeypatch, here, *create, "1.1.0", "--history-scope", "tenant")

    def shown(url: str, semver: str) -> dict:
        return json.loads(invoke(cli, monkeypatch, url, "versions", "show", semver, "--json"))

    shared, tenant = shown(here, "1.0.0"), shown(here, "1.1.0")
    assert shared["content"]["params"]["history_scope"] == "shared"
    assert tenant["content"]["params"]["history_scope"] == "tenant"
    assert shared["content_hash"] != tenant["content_hash"]
    assert 'params.history_scope: "tenant"' in invoke(
        cli, monkeypatch, here, "versions", "show", "1.1.0"
    )
    diff = invoke(cli, monkeypatch, here, "versions", "diff", "1.0.0", "1.1.0", code=1)
    assert diff.strip() == 'params.history_scope: "shared" → "tenant"'

    exported = tmp_path / "v.json"
    invoke(cli, monkeypatch, here, "versions", "export", "1.1.0", "-o", str(exported))
    invoke(cli, monkeypatch, there, "versions", "import", str(exported))
    assert shown(there, "1.1.0")["content_hash"] == tenant["content_hash"]

    doc = json.loads(exported.read_text())
    doc["content"]["params"]["history_scope"] = "shared"
    exported.write_text(json.dumps(doc))
    refused = invoke(cli, monkeypatch, there, "versions", "import", str(exported), code=1)
    assert "does not match its hash" in refused
    bad = invoke(cli, monkeypatch, here, *create, "1.2.0", "--history-scope", "everyone", code=2)
    assert "everyone" in bad
