"""The operator commands' listings (``switch status``, ``versions list``, ``tenants list``): what
they print comes from the services, and matches what the actions wrote."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from agent.cli import app as cli_app
from agent.config import get_settings
from agent.db import sqlalchemy_url
from tests.factories import make_agent_version


@pytest.fixture
def cli(servers, fresh_db_url, monkeypatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("REDIS_URL", servers.redis_url)
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(servers.data_dir))
    monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli_app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_switch_status_lists_what_was_switched(cli):
    _ok(cli, "switch", "on", "channel:email", "--reason", "mail outage")
    _ok(cli, "switch", "off", "global", "--reason", "all clear")
    rows = json.loads(_ok(cli, "switch", "status", "--json"))
    assert [(r["key"], r["enabled"], r["reason"]) for r in rows] == [
        ("channel:email", True, "mail outage"),
        ("global", False, "all clear"),
    ]


def test_versions_list_shows_each_version_with_its_labels(cli, fresh_db_url):
    engine = create_engine(sqlalchemy_url(fresh_db_url))
    with Session(engine) as db:
        old = make_agent_version(db, semver="1.0.0").semver
        new = make_agent_version(db, semver="1.1.0").semver
        db.commit()
    engine.dispose()
    _ok(cli, "versions", "promote", old)
    _ok(cli, "versions", "canary", new, "--percent", "20")
    rows = {r["semver"]: r["labels"] for r in json.loads(_ok(cli, "versions", "list", "--json"))}
    assert rows == {"1.0.0": ["production"], "1.1.0": ["canary 20%"]}


def test_tenants_list_shows_the_added_tenant_and_its_key_prefix(cli):
    added = _ok(cli, "tenants", "add", "acme", "--rate-limit", "120")
    key = added.strip().splitlines()[-1].strip()
    listed = _ok(cli, "tenants", "list")
    assert "acme" in listed and key[:10] in listed and "120" in listed


def test_tenants_portal_turns_a_portal_on_and_off_and_is_audited(cli, fresh_db_url):
    _ok(cli, "tenants", "add", "Acme Bank")
    assert "off" in _ok(cli, "tenants", "list")
    assert "ON at /portal/acme-bank" in _ok(cli, "tenants", "portal", "Acme Bank", "--enable")
    assert "/portal/acme-bank" in _ok(cli, "tenants", "list")
    refused = cli.invoke(cli_app, ["tenants", "portal", "Acme Bank", "--enable", "--slug", "Bad!"])
    assert refused.exit_code != 0 and "invalid slug" in refused.output
    _ok(cli, "tenants", "portal", "Acme Bank", "--disable")
    assert "/portal/" not in _ok(cli, "tenants", "list")
    engine = create_engine(sqlalchemy_url(fresh_db_url))
    with engine.connect() as conn:
        actions = conn.exec_driver_sql(
            "SELECT action, details->>'slug' FROM audit_log "
            "WHERE action LIKE 'tenant.portal%%' ORDER BY id"
        ).all()
    engine.dispose()
    assert [tuple(a) for a in actions] == [
        ("tenant.portal_on", "acme-bank"),
        ("tenant.portal_off", "acme-bank"),
    ]
