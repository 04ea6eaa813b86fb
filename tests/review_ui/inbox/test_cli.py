"""``ticketwatch inbox``: registered on the root command; an IMAP poll without its tenant, or
with a URL it cannot use, stops before anything starts (the running inbox is tested in
test_smtp.py and test_imap.py through the same ``run_inbox``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from agent.config import get_settings
from review_ui.cli import register

runner = CliRunner()


@pytest.fixture
def cli(tmp_path, monkeypatch) -> Iterator[typer.Typer]:
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
    monkeypatch.delenv("TICKETWATCH_INBOX_IMAP_PASSWORD", raising=False)
    get_settings.cache_clear()
    app = typer.Typer()

    @app.callback()
    def _root() -> None: ...

    register(app)
    yield app
    get_settings.cache_clear()


def test_the_inbox_command_is_registered(cli: typer.Typer) -> None:
    result = runner.invoke(cli, ["inbox", "--help"])
    assert result.exit_code == 0 and "--imap" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--imap", "imaps://u:p@h"], "--imap needs --tenant"),
        (["--imap", "https://u:p@h", "--tenant", "acme"], "must look like"),
        (["--imap", "imaps://u@h", "--tenant", "acme"], "no IMAP password"),
    ],
)
def test_an_unusable_imap_poll_stops_with_the_reason(
    cli: typer.Typer, args: list[str], message: str
) -> None:
    result = runner.invoke(cli, ["inbox", *args])
    assert result.exit_code == 2
    assert message in result.output
