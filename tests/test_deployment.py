"""compose.yaml and the Dockerfile: structure, health checks, and commands that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from agent.cli import _register_plugins, app

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("migrate", "api", "worker", "beat", "inbox")


def cli() -> Any:
    _register_plugins()
    return typer.main.get_command(app)


def resolve(argv: list[str]) -> tuple[Any, list[str]]:
    """The CLI command that ``argv`` (without the program name) names, and its arguments."""
    command = cli()
    rest = list(argv)
    while hasattr(command, "get_command") and rest and not rest[0].startswith("-"):
        ctx = command.make_context("ticketwatch", [], resilient_parsing=True)
        sub = command.get_command(ctx, rest[0])
        assert sub is not None, f"`ticketwatch {' '.join(argv)}`: no command {rest[0]!r}"
        command, rest = sub, rest[1:]
    return command, rest


def test_compose_runs_pgvector_redis_migrate_api_worker_and_beat():
    assert set(APP_SERVICES) | {"postgres", "redis"} <= set(SERVICES)
    assert SERVICES["postgres"]["image"].startswith("pgvector/pgvector:")
    assert SERVICES["redis"]["image"].startswith("redis:")


@pytest.mark.parametrize("name", ["postgres", "redis", "api"])
def test_services_have_health_checks(name):
    check = SERVICES[name]["healthcheck"]
    assert check["test"] and not check.get("disable")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_dependencies(name):
    deps = SERVICES[name]["depends_on"]
    assert deps["postgres"]["condition"] == "service_healthy"
    if name != "migrate":
        assert deps["redis"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"


def test_migrate_is_one_shot():
    assert SERVICES["migrate"]["restart"] == "no"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_compose_command_exists_in_the_cli(name):
    argv = SERVICES[name]["command"]
    assert argv[0] == "ticketwatch"
    command, rest = resolve(argv[1:])
    options = {opt for p in command.params for opt in getattr(p, "opts", [])}
    for token in rest:
        if token.startswith("--"):
            assert token.split("=")[0] in options, f"{name}: {token} is not an option"


def test_compose_keeps_secrets_out_of_the_file():
    text = (ROOT / "compose.yaml").read_text()
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?" in text
    assert not re.search(
        r"(?i)(password|secret|api_key)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9]{8,}",
        text.replace("${POSTGRES_PASSWORD", ""),
    )


def test_dockerfile_is_slim_non_root_healthy_and_caches_dependencies():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", text, re.M)
    assert re.search(r"^USER (?!root)\S+", text, re.M)
    assert re.search(r"^HEALTHCHECK ", text, re.M)
    assert (
        text.index("COPY pyproject.toml") < text.index("pip install .") < text.index("COPY agent")
    )
    assert not re.search(r"(?i)^(ENV|ARG)\s.*(SECRET|PASSWORD|API_KEY|TOKEN)", text, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".git" in ignored
