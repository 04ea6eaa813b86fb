"""``ticketwatch users add|list|disable`` against a real database."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import typer
from typer.testing import CliRunner

from agent.config import get_settings
from review_ui.cli import register
from review_ui.security.passwords import verify_password

runner = CliRunner()


@pytest.fixture
def cli(fresh_db_url, redis_url, tmp_path, monkeypatch) -> Iterator[typer.Typer]:
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
    get_settings.cache_clear()
    app = typer.Typer()

    @app.callback()
    def _root() -> None: ...

    register(app)
    yield app
    get_settings.cache_clear()


def test_users_add_hashes_the_password_from_stdin_and_audits(cli, fresh_db_url):
    result = runner.invoke(
        cli,
        ["users", "add", "olga", "--role", "operator", "--password-stdin"],
        input="olga-long-password\n",
    )
    assert result.exit_code == 0, result.output
    with psycopg.connect(fresh_db_url) as conn:
        role, password_hash = conn.execute(
            "SELECT role, password_hash FROM users WHERE username = 'olga'"
        ).fetchone()
        audited = conn.execute("SELECT action, actor_role FROM audit_log").fetchall()
    assert role == "operator" and verify_password(password_hash, "olga-long-password")
    assert audited == [("user.create", "admin")]


def test_users_add_prompts_twice_and_refuses_bad_input(cli):
    ok = runner.invoke(cli, ["users", "add", "pia"], input="pia-long-password\npia-long-password\n")
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(cli, ["users", "add", "pia", "--password-stdin"], input="x" * 20 + "\n")
    assert again.exit_code == 1 and "exists already" in again.output
    short = runner.invoke(cli, ["users", "add", "max", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 12" in short.output
    role = runner.invoke(
        cli, ["users", "add", "max", "--role", "root", "--password-stdin"], input="x" * 20 + "\n"
    )
    assert role.exit_code == 1 and "unknown role" in role.output


def test_users_list_and_disable(cli):
    runner.invoke(cli, ["users", "add", "rui", "--password-stdin"], input="rui-long-password\n")
    assert runner.invoke(cli, ["users", "disable", "rui"]).exit_code == 0
    listed = runner.invoke(cli, ["users", "list", "--json"])
    assert '"active": false' in listed.output and '"username": "rui"' in listed.output
    assert runner.invoke(cli, ["users", "disable", "nobody"]).exit_code == 1
