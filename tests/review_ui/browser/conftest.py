"""Playwright driving Debian's Chromium (no browser downloads here) against the live UI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from agent.config import REPO_ROOT
from tests.live_ui import PASSWORDS, LiveUi

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="package")
def browser(live_ui: LiveUi) -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running in this thread while it is open:
    # the live server (set up with asyncio.run) must exist first, and the browser must close
    # before the async tests of other packages run.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save what the page shows under artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture
def signed_in(browser: Browser, live_ui: LiveUi) -> Iterator[Callable[[str], Page]]:
    """``signed_in(username)``: a fresh browser context, signed in through the login form."""
    contexts = []

    def sign_in(username: str) -> Page:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=live_ui.url)
        contexts.append(context)
        page = context.new_page()
        page.goto("/review")
        assert "/login" in page.url
        page.fill("#username", username)
        page.fill("#password", PASSWORDS[username][1])
        page.click("button[type=submit]")
        page.wait_for_url("**/review")
        return page

    yield sign_in
    for context in contexts:
        context.close()
