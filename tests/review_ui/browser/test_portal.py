"""The portal in Chromium: a person submits from the keyboard, follows the private link, and
sees the route change after a reviewer's override."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator

import psycopg
import pytest
from playwright.sync_api import Browser, Page

from agent.services.operators import Actor
from agent.services.portal import set_portal
from tests.asyncdb import session_for
from tests.live_ui import LiveUi
from tests.review_ui.browser.conftest import screenshot

SLUG = "ui-tests"
LABELS = {
    "name": "Your name",
    "email": "Email address",
    "subject": "Subject",
    "message": "Message",
    "category": "Category (optional)",
}


def _set_portal(ui: LiveUi, enabled: bool) -> None:
    """Through the operator's service; on a thread, as Playwright's loop holds this one."""

    async def body() -> None:
        async with session_for(ui.database_url) as session:
            actor = Actor("tests", "operator")
            await set_portal(session, name="ui-tests", enabled=enabled, actor=actor, slug=SLUG)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, body()).result()


@pytest.fixture
def visitor(browser: Browser, live_ui: LiveUi) -> Iterator[Page]:
    _set_portal(live_ui, True)
    context = browser.new_context(viewport={"width": 900, "height": 900}, base_url=live_ui.url)
    context.set_extra_http_headers({"X-Forwarded-For": "192.0.2.77"})
    yield context.new_page()
    context.close()
    _set_portal(live_ui, False)


def _focused(page: Page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.tagName")


def _fill_from_the_keyboard(page: Page, values: dict[str, str]) -> None:
    page.locator("body").focus()
    for name in LABELS:
        page.keyboard.press("Tab")
        assert _focused(page) == name  # the honeypot is never in the tab order
        page.keyboard.type(values.get(name, ""))
    page.keyboard.press("Tab")
    assert _focused(page) == "BUTTON"


def test_every_field_has_a_label_and_errors_are_announced(visitor: Page):
    visitor.goto(f"/portal/{SLUG}")
    for name, label in LABELS.items():
        assert visitor.get_by_label(label).first.get_attribute("id") == name
    _fill_from_the_keyboard(visitor, {"name": "Dana", "email": "not-an-address"})
    visitor.keyboard.press("Enter")
    alert = visitor.get_by_role("alert")
    alert.wait_for()
    assert "Email address must look like name@example.com." in alert.inner_text()
    assert "Subject is required." in alert.inner_text()
    assert visitor.locator("#subject").get_attribute("aria-invalid") == "true"
    screenshot(visitor, "portal-form-errors")


def test_a_person_submits_follows_the_link_and_sees_the_override(
    visitor: Page, signed_in, live_ui: LiveUi
):
    visitor.goto(f"/portal/{SLUG}")
    screenshot(visitor, "portal-form")
    values = {
        "name": "Dana Reyes",
        "email": "dana@example.com",
        "subject": "Transfer missing",
        "message": "I sent money to my landlord three days ago and it has not arrived.",
    }
    _fill_from_the_keyboard(visitor, values)
    visitor.keyboard.press("Enter")
    visitor.wait_for_selector("#reference")
    reference = visitor.inner_text("#reference")
    screenshot(visitor, "portal-received")
    visitor.click("#status-link")
    visitor.wait_for_selector(".portal-steps")
    assert "Received" in visitor.inner_text(".portal-steps")
    assert "by our support staff" not in visitor.inner_text(".portal-steps")

    with psycopg.connect(live_ui.database_url) as conn:
        row = conn.execute(
            "SELECT t.id, d.queue FROM tickets t JOIN decisions d ON d.ticket_id = t.id "
            "WHERE t.source = 'portal' AND t.external_id = %s AND d.is_final",
            (reference,),
        ).fetchone()
    assert row is not None
    other_queue = "card_orders" if row[1] != "card_orders" else "transfers"
    reviewer = signed_in("rita")
    reviewer.goto(f"/review/tickets/{row[0]}")
    reviewer.select_option("#o-queue", other_queue)
    reviewer.select_option("#o-priority", "P2")
    reviewer.select_option("#o-reason", "wrong_queue")
    reviewer.click("#override-form button[value=queue]")
    reviewer.wait_for_url("**/review")

    visitor.reload()
    steps = visitor.inner_text(".portal-steps")
    assert "Routed to a team by our support staff" in steps
    assert other_queue not in steps  # the queue's name stays internal
    screenshot(visitor, "portal-status")
