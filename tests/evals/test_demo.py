"""What ``ticketwatch demo`` prints about the demo tenant's portal and inbox (the whole demo
runs in tests/e2e/test_demo.py)."""

from __future__ import annotations

from pathlib import Path

from agent.config import Settings
from evals.demo import _portal_lines


def _settings(data_dir: Path, **extra: object) -> Settings:
    return Settings(data_dir=data_dir, embedded_autostart=False, **extra)  # type: ignore[arg-type]


def test_the_demo_names_its_tenants_portal_url_and_inbox_address(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "portal_slug").write_text("demo-1a2b3c\n")
    lines = _portal_lines(_settings(tmp_path, port=8100, inbox_domain="help.example"))
    assert "http://127.0.0.1:8100/portal/demo-1a2b3c" in lines
    assert "ticketwatch inbox" in lines and "demo-1a2b3c@help.example" in lines


def test_an_older_demo_tenant_gets_the_command_that_enables_a_portal(tmp_path: Path) -> None:
    lines = _portal_lines(_settings(tmp_path))
    assert "ticketwatch tenants portal NAME --enable" in lines
