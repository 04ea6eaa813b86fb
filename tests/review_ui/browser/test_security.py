"""Untrusted ticket text renders inert; reviewers cannot act as operators; forms need CSRF."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.review_ui.browser.conftest import screenshot

pytestmark = pytest.mark.browser

PAYLOAD_BODY = (
    "<script>window.__pwned = 'script'</script>"
    "<img src=x onerror=\"window.__pwned = 'img'\">"
    "<a href=\"javascript:window.__pwned='link'\">click</a> my card is lost"
)
PAYLOAD_SUBJECT = '"><svg onload="window.__pwned=\'svg\'"></svg>'


def test_a_ticket_holding_an_xss_payload_renders_inert(signed_in, live_ui):
    with live_ui.api() as api:
        route = api.post(
            "/v1/tickets",
            json={
                "source": "web-form",
                "external_id": uuid.uuid4().hex,
                "body": PAYLOAD_BODY,
                "subject": PAYLOAD_SUBJECT,
                "metadata": {"note": "<b onmouseover=alert(1)>x</b>"},
            },
        ).json()
    page = signed_in("rita")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    response = page.goto(f"/review/tickets/{route['ticket_id']}")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.inner_text("#ticket-body") == PAYLOAD_BODY
    assert page.inner_text("h1") == PAYLOAD_SUBJECT
    assert (
        page.locator("#ticket-body img, #ticket-body script, h1 svg, #ticket-body a").count() == 0
    )
    page.goto("/review?status=all")
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    page.goto(f"/review/tickets/{route['ticket_id']}")
    screenshot(page, "xss-ticket-inert", full_page=False)


def test_a_reviewer_gets_403_on_operator_actions(signed_in, live_ui):
    page = signed_in("rita")
    response = page.goto("/ops")
    assert response is not None and response.status == 403
    assert "needs the operator role" in page.inner_text("main")
    screenshot(page, "reviewer-forbidden", full_page=False)
    token = page.locator("input[name=csrf_token]").first.input_value()
    posted = page.request.post(
        "/ops/switches",
        form={
            "csrf_token": token,
            "kind": "global",
            "state": "on",
            "reason": "x",
            "confirm": "yes",
        },
        max_redirects=0,
    )
    assert posted.status == 403
    for path in ("/ops/versions", "/admin/users"):
        assert page.request.post(path, form={"csrf_token": token}, max_redirects=0).status == 403
    with psycopg.connect(live_ui.database_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM audit_log WHERE actor = 'rita' AND action LIKE 'kill_switch%'"
        ).fetchone() == (0,)


def test_a_form_without_its_csrf_token_is_refused(signed_in, live_ui):
    page = signed_in("oscar")
    page.goto("/ops")
    # A forged form: no token field, and no htmx header carrying it.
    page.evaluate(
        "document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove());"
        "document.body.removeAttribute('hx-headers');"
    )
    page.fill("#s-reason", "forged")
    with page.expect_response(lambda r: r.url.endswith("/ops/switches")) as response:
        page.click("#switch-on")
    assert response.value.status == 403
    page.wait_for_selector("text=security token")
    screenshot(page, "csrf-refused", full_page=False)
    forged = page.request.post(
        "/ops/switches",
        form={"kind": "global", "state": "on", "reason": "forged", "confirm": "yes"},
        max_redirects=0,
    )
    assert forged.status == 403
    with psycopg.connect(live_ui.database_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM audit_log WHERE details->>'reason' = 'forged'"
        ).fetchone() == (0,)


def _payload(field: str) -> str:
    return (
        f"<script>window.__pwned='{field}'</script>"
        f"<img src=x onerror=\"window.__pwned='{field}'\">"
        f'"><svg onload="window.__pwned=\'{field}\'"></svg>'
    )


def _alert_with_payloads(database_url: str) -> str:
    """An alert whose every text field carries a payload (as from tickets' own words)."""
    with psycopg.connect(database_url) as conn:
        (alert_id,) = conn.execute(
            "INSERT INTO alerts (id, rule, segment, window_size_s, status, severity, score,"
            " threshold, opened_at, updated_at, last_window_end, clean_windows, evidence,"
            " explanation, actions) VALUES (gen_random_uuid(), %s, %s, 3600, 'open', 'warning',"
            " 1.0, 0.5, now(), now(), now(), 0, %s, %s, %s) RETURNING id",
            (
                "composite",
                "source:" + _payload("segment")[:100],
                psycopg.types.json.Jsonb({_payload("evidence-key"): _payload("evidence-value")}),
                psycopg.types.json.Jsonb(
                    {
                        "summary": _payload("summary"),
                        "clusters": [
                            {
                                "size": 3,
                                "nearest_queue": _payload("nearest-queue"),
                                "top_terms": [_payload("term")],
                                "examples": [_payload("example"), {"text": _payload("ex-text")}],
                            }
                        ],
                    }
                ),
                psycopg.types.json.Jsonb({"webhook": _payload("actions")}),
            ),
        ).fetchone()
    return str(alert_id)


def test_every_field_a_ticket_a_note_or_an_alert_carries_renders_inert(signed_in, live_ui):
    with live_ui.api() as api:
        route = api.post(
            "/v1/tickets",
            json={
                "source": "xss-tests",
                "external_id": uuid.uuid4().hex,
                "subject": _payload("subject"),
                "body": _payload("body") + " my card was charged twice",
                "customer_id": _payload("customer")[:200],
                "metadata": {_payload("meta-key")[:100]: _payload("meta-value")},
            },
        ).json()
    ticket = route["ticket_id"]
    reviewer = signed_in("rita")
    dialogs: list[str] = []
    reviewer.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    reviewer.goto(f"/review/tickets/{ticket}")
    reviewer.select_option("#o-queue", "top_ups" if route["queue"] != "top_ups" else "transfers")
    reviewer.select_option("#o-priority", "P3")
    reviewer.select_option("#o-reason", "new_product")
    reviewer.fill("#o-note", _payload("note"))
    reviewer.click("#override-form button[value=queue]")
    reviewer.wait_for_url("**/review")
    alert = _alert_with_payloads(live_ui.database_url)

    operator = signed_in("oscar")
    operator.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pages = {
        reviewer: ("/review?status=all", f"/review/tickets/{ticket}", "/dashboards"),
        operator: ("/ops", f"/ops/alerts/{alert}", "/ops/audit"),
    }
    for page, paths in pages.items():
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            assert page.evaluate("window.__pwned") is None, path
            assert page.locator("main script, main img[src=x], main svg[onload]").count() == 0
    # the words are shown as text, not dropped
    reviewer.goto(f"/review/tickets/{ticket}")
    assert _payload("note") in reviewer.inner_text("main")
    operator.goto(f"/ops/alerts/{alert}")
    shown = operator.inner_text("main")
    for field in ("summary", "example", "ex-text", "term", "evidence-value"):
        assert _payload(field) in shown, field
    assert dialogs == []
    screenshot(operator, "xss-alert-inert", full_page=False)
