"""``ticketwatch inbox``: registered on the root command; an IMAP poll without its tenant, or
with a URL it cannot use, stops before anything starts; and the command as a process takes a
mail and stops cleanly on SIGTERM (the inbox's behaviour is tested in test_smtp.py and
test_imap.py through the same ``run_inbox``)."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from agent.config import get_settings
from review_ui.cli import register
from tests.conftest import Servers, _redis_dbs, with_redis_db
from tests.live import free_port
from tests.live_ui import LiveUi
from tests.review_ui.inbox.live_inbox import (
    DOMAIN,
    INBOX,
    email_tickets,
    message_id_of,
    new_sender,
    plain_mail,
    set_portal_of,
)

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


@pytest.mark.e2e
@pytest.mark.slow
def test_the_command_takes_mail_and_stops_cleanly_on_sigterm(
    live_ui: LiveUi, servers: Servers
) -> None:
    """``ticketwatch inbox`` as a process, configured by environment variables as deployed."""
    redis_url = with_redis_db(servers.redis_url, next(_redis_dbs))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": live_ui.database_url,
        "REDIS_URL": redis_url,
        "TICKETWATCH_DATA_DIR": str(live_ui.settings.data_dir),
        "TICKETWATCH_EMBEDDED_AUTOSTART": "false",
        "TICKETWATCH_INBOX_DOMAIN": DOMAIN,
        "TICKETWATCH_LOG_LEVEL": "WARNING",
    }
    set_portal_of(live_ui, True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "inbox", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        client = _connect_when_listening(port, proc)
        sender = new_sender()
        message = plain_mail(sender)
        with client as smtp:
            smtp.ehlo("tests.example")
            smtp.mail(sender)
            smtp.rcpt(INBOX)
            code, reply = smtp.data(message.as_bytes())
        assert code == 250 and reply.startswith(b"2.0.0 Received as E-"), reply
        assert len(email_tickets(live_ui, message_id_of(message))) == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        set_portal_of(live_ui, False)


def _connect_when_listening(port: int, proc: subprocess.Popen[bytes]) -> smtplib.SMTP:
    deadline = time.monotonic() + 180  # it loads the embedder and compiles the graph first
    while True:
        try:
            return smtplib.SMTP("127.0.0.1", port, timeout=60)
        except OSError:
            if proc.poll() is not None:
                output = proc.stderr.read().decode() if proc.stderr else ""
                raise AssertionError(output[-3000:]) from None
            assert time.monotonic() < deadline, "the inbox did not start listening"
            time.sleep(0.2)
