"""A reviewer works the queue: confirms one route, overrides another, and sees the
disagreement figure move."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.review_ui.browser.conftest import screenshot
from tests.review_ui.traffic import post_realistic_traffic

pytestmark = pytest.mark.browser

TEXTS = [
    ("Charged twice?", "I think I was charged twice for one purchase, or is it just a hold?"),
    ("Hello", "hello"),
    ("Still not working", "It still does not work, why?"),
    ("Is this normal?", "Is this normal?"),
    ("Question", "why"),
    ("Declined and pending", "My card was declined and the top up is still pending"),
    ("Help", "I need help with the new savings pot, where is it?"),
]


def post_flagged_tickets(live_ui, count: int) -> list[dict]:
    """Post tickets until ``count`` of them are flagged for review with a prediction."""
    flagged = []
    with live_ui.api() as api:
        for i in range(200):
            subject, text = TEXTS[i % len(TEXTS)]
            route = api.post(
                "/v1/tickets",
                json={
                    "source": "web-form",
                    "external_id": uuid.uuid4().hex,
                    "body": text,
                    "subject": subject,
                    "channel": "email",
                    "customer_id": f"c-{i}",
                },
            ).json()
            if route["needs_review"] and route["queue"] is not None:
                flagged.append(route)
            if len(flagged) == count:
                return flagged
    raise AssertionError(f"the agent flagged too few tickets for review: {route}")


def open_sampled_decision(live_ui) -> str:
    """A confident decision sampled for review (the agent routed it), not reviewed yet."""
    for batch in range(4):
        with psycopg.connect(live_ui.database_url) as conn:
            row = conn.execute(
                "SELECT d.ticket_id FROM decisions d WHERE d.is_final AND d.sampled_for_review "
                "AND NOT d.needs_review AND d.mode = 'agent' "
                "AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.decision_id = d.id) "
                "ORDER BY d.created_at DESC LIMIT 1"
            ).fetchone()
        if row:
            return str(row[0])
        post_realistic_traffic(live_ui, 30, offset=20 + batch)
    raise AssertionError("no confident decision was sampled for review")


def figure(page) -> str:
    return page.inner_text("#disagreement").strip()


def test_reviewer_overrides_a_ticket_and_the_disagreement_figure_changes(signed_in, live_ui):
    post_realistic_traffic(live_ui, 45)
    confirmed = open_sampled_decision(live_ui)
    (overridden,) = post_flagged_tickets(live_ui, 1)
    page = signed_in("rita")
    page.reload()
    screenshot(page, "review-queue")

    page.goto("/review?mode=agent")
    page.click(f"tr[data-ticket='{confirmed}'] a.open")
    page.wait_for_url(f"**/review/tickets/{confirmed}")
    page.click("[data-shortcut=confirm]")
    page.wait_for_selector("text=Recorded: confirmed")
    page.goto("/review")
    after_confirm = figure(page)
    assert after_confirm.endswith("%"), after_confirm

    page.goto(f"/review/tickets/{overridden['ticket_id']}")
    assert page.inner_text("#ticket-body") in [text for _, text in TEXTS]
    assert page.locator(".probs meter").count() >= 2
    screenshot(page, "ticket-page")
    other_queue = next(
        q
        for q in page.locator("#o-queue option").all_inner_texts()
        if q and q != overridden["queue"] and not q.startswith("Choose")
    )
    page.select_option("#o-queue", other_queue)
    page.select_option("#o-priority", "P2")
    page.select_option("#o-reason", "new_product")
    page.fill("#o-note", "About the new savings product, which the agent has not seen.")
    page.click("#override-form button[value=queue]")
    page.wait_for_url("**/review")
    after_override = figure(page)

    assert float(after_override.rstrip("%")) > float(after_confirm.rstrip("%"))
    assert "Recorded: overridden" in page.inner_text("main")
    with psycopg.connect(live_ui.database_url) as conn:
        outcome = conn.execute(
            "SELECT queue, priority, source FROM outcomes WHERE ticket_id = %s",
            (overridden["ticket_id"],),
        ).fetchone()
        audit = conn.execute(
            "SELECT actor, actor_role FROM audit_log WHERE action = 'review.override' "
            "AND target = %s",
            (overridden["ticket_id"],),
        ).fetchone()
    assert outcome == (other_queue, "P2", "override")
    assert audit == ("rita", "reviewer")


def test_the_queue_is_worked_from_the_keyboard(signed_in, live_ui):
    post_flagged_tickets(live_ui, 2)
    page = signed_in("rita")
    page.keyboard.press("j")
    page.keyboard.press("j")
    selected = page.locator("tr.row-link.selected")
    assert selected.count() == 1
    ticket_id = selected.get_attribute("data-ticket")
    assert ticket_id == page.locator("tr.row-link").nth(1).get_attribute("data-ticket")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/review/tickets/{ticket_id}")
    page.keyboard.press("e")
    assert page.evaluate("document.activeElement.id") == "o-queue"
    page.locator("h1").click()  # leave the form
    page.keyboard.press("?")
    assert page.is_visible("#help")
    screenshot(page, "keyboard-shortcuts", full_page=False)
    page.keyboard.press("Escape")
    page.keyboard.press("u")
    page.wait_for_url("**/review")
