"""The public ticket portal over real HTTP: off by default, a submission routed like the API's
(channel web, source portal), a private signed status link, and its abuse guards."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid

import httpx
import psycopg
import pytest

from agent.services.operators import Actor
from agent.services.portal import set_portal
from agent.taxonomy import load_taxonomy
from review_ui.security.headers import CONTENT_SECURITY_POLICY
from tests.asyncdb import session_for
from tests.live_ui import LiveUi, csrf_of

SLUG = "ui-tests"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
STATUS_LINK = re.compile(r'id="status-link" href="([^"]+)"')
REFERENCE = re.compile(r'id="reference">([^<]+)<')
_addresses = (f"198.51.100.{i}" for i in itertools.count(1))


def _set_portal(ui: LiveUi, enabled: bool, **kwargs: object) -> None:
    async def body() -> None:
        async with session_for(ui.database_url) as session:
            await set_portal(
                session,
                name="ui-tests",
                enabled=enabled,
                actor=Actor("tests", "operator"),
                **kwargs,  # type: ignore[arg-type]
            )

    asyncio.run(body())


@pytest.fixture
def portal(live_ui: LiveUi):
    _set_portal(live_ui, True, slug=SLUG, show_queue=False)
    yield live_ui
    _set_portal(live_ui, False)


def _visitor(ui: LiveUi) -> tuple[httpx.Client, str]:
    """A browser from its own (forwarded) address, and its form's CSRF token."""
    client = ui.browser_client()
    client.headers["X-Forwarded-For"] = next(_addresses)
    page = client.get(f"/portal/{SLUG}")
    assert page.status_code == 200, page.text
    return client, csrf_of(page.text)


def _fields(token: str, **overrides: str) -> dict[str, str]:
    fields = {
        "csrf_token": token,
        "name": "Dana Reyes",
        "email": "dana@example.com",
        "subject": "Card not working",
        "message": "My card was declined at a shop twice today although I have money.",
        "category": "cards",
        "website": "",
    }
    return {**fields, **overrides}


def _ticket(ui: LiveUi, reference: str) -> dict[str, object] | None:
    async def body() -> dict[str, object] | None:
        from sqlalchemy import select

        from agent.models import Ticket

        async with session_for(ui.database_url) as session:
            stmt = select(Ticket).where(Ticket.source == "portal", Ticket.external_id == reference)
            row = (await session.execute(stmt)).scalar_one_or_none()
            if row is None:
                return None
            return {"id": row.id, "channel": row.channel, "metadata": row.metadata_}

    return asyncio.run(body())


def test_a_portal_is_off_until_an_operator_enables_it(live_ui):
    client = live_ui.browser_client()
    assert client.get(f"/portal/{SLUG}").status_code == 404
    token = csrf_of(client.get("/login").text)  # the session's token, from any form
    assert client.post(f"/portal/{SLUG}", data={"csrf_token": token}).status_code == 404
    assert client.get("/portal/no-such-tenant").status_code == 404


def test_a_submission_is_routed_like_the_api_and_answers_without_internals(portal):
    client, token = _visitor(portal)
    answer = client.post(f"/portal/{SLUG}", data=_fields(token))
    assert answer.status_code == 200, answer.text
    reference = REFERENCE.search(answer.text).group(1)  # type: ignore[union-attr]
    ticket = _ticket(portal, reference)
    assert ticket is not None
    assert ticket["channel"] == "web"
    assert ticket["metadata"]["portal"]["category_hint"] == "cards"  # type: ignore[index]
    targets = [p.target_first_response for p in load_taxonomy("banking77").priorities]
    triage = "a person will look at it and set its priority"
    assert any(t in answer.text for t in targets) or triage in answer.text
    for internal in (*load_taxonomy("banking77").queue_names, "human_triage", "probab", "%"):
        assert internal not in answer.text, internal
    status_url = STATUS_LINK.search(answer.text).group(1)  # type: ignore[union-attr]
    status = httpx.get(status_url)
    assert status.status_code == 200
    assert reference in status.text and "Received" in status.text
    assert "Routed to a team" in status.text or "With our support staff" in status.text
    for internal in load_taxonomy("banking77").queue_names:
        assert internal not in status.text, internal


def test_the_status_page_shows_resolution_from_the_helpdesk_outcome(portal):
    client, token = _visitor(portal)
    answer = client.post(f"/portal/{SLUG}", data=_fields(token))
    reference = REFERENCE.search(answer.text).group(1)  # type: ignore[union-attr]
    status_url = STATUS_LINK.search(answer.text).group(1)  # type: ignore[union-attr]
    assert "not yet" in httpx.get(status_url).text
    with portal.api() as api:
        outcome = {"source": "portal", "external_id": reference, "queue": "card_usage"}
        r = api.post("/v1/outcomes", json={**outcome, "priority": "P3"})
        assert r.status_code in (200, 201), r.text
    page = httpx.get(status_url).text
    assert "Resolved" in page and "not yet" not in page


def test_a_tampered_or_foreign_status_token_is_refused(portal):
    client, token = _visitor(portal)
    answer = client.post(f"/portal/{SLUG}", data=_fields(token))
    status_url = STATUS_LINK.search(answer.text).group(1)  # type: ignore[union-attr]
    head, tok = status_url.rsplit("/", 1)
    flipped = tok[:5] + ("A" if tok[5] != "A" else "B") + tok[6:]  # inside the payload
    assert httpx.get(f"{head}/{flipped}").status_code == 404
    ticket_id = _ticket(portal, REFERENCE.search(answer.text).group(1))["id"]  # type: ignore[union-attr,index]
    assert httpx.get(f"{head}/{ticket_id}").status_code == 404  # the id is not a token
    _set_portal(portal, False)
    assert httpx.get(status_url).status_code == 404  # a disabled portal shows nothing


def test_a_post_without_the_csrf_token_is_refused_and_routes_nothing(portal):
    client, _ = _visitor(portal)
    subject = f"no token {uuid.uuid4()}"
    r = client.post(f"/portal/{SLUG}", data=_fields("", subject=subject))
    assert r.status_code == 403
    assert "The form expired" in r.text
    assert subject in r.text  # the person's answers are kept for the second try


def test_a_filled_honeypot_is_answered_politely_and_nothing_is_stored(portal):
    client, token = _visitor(portal)
    r = client.post(f"/portal/{SLUG}", data=_fields(token, website="http://spam.example"))
    assert r.status_code == 200
    assert "We will be in touch" in r.text
    assert REFERENCE.search(r.text) is None and STATUS_LINK.search(r.text) is None


def test_an_oversized_field_gets_a_readable_error_and_keeps_the_form(portal):
    client, token = _visitor(portal)
    r = client.post(f"/portal/{SLUG}", data=_fields(token, message="x" * 10_001, email="nope"))
    assert r.status_code == 422
    assert "Message is too long: at most 10,000 characters." in r.text
    assert "Email address must look like name@example.com." in r.text
    assert 'aria-invalid="true" aria-describedby="message-error"' in r.text
    huge = client.post(f"/portal/{SLUG}", data=_fields(token, message="x" * 70_000))
    assert huge.status_code == 413  # over the app's body cap, before any handler


def test_markup_in_every_field_is_escaped_on_status_and_review_pages(portal):
    client, token = _visitor(portal)
    fields = dict.fromkeys(("name", "subject", "message", "category"), XSS)
    bad = client.post(f"/portal/{SLUG}", data=_fields(token, email=XSS, **fields))
    assert bad.status_code == 422 and "<script>" not in bad.text  # echoed back escaped
    answer = client.post(f"/portal/{SLUG}", data=_fields(token, email="x@example.com", **fields))
    assert answer.status_code == 200, answer.text
    reference = REFERENCE.search(answer.text).group(1)  # type: ignore[union-attr]
    status_url = STATUS_LINK.search(answer.text).group(1)  # type: ignore[union-attr]
    reviewer, _ = portal.login("rita")
    ticket_id = _ticket(portal, reference)["id"]  # type: ignore[index]
    review = reviewer.get(f"/review/tickets/{ticket_id}")
    assert review.status_code == 200
    for page in (httpx.get(status_url).text, review.text):
        assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in review.text


def test_portal_pages_carry_the_strict_csp(portal):
    client, _ = _visitor(portal)
    for path in (f"/portal/{SLUG}", "/portal/no-such-tenant"):
        r = client.get(path)
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert r.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY


def test_posts_are_limited_per_client_address(portal):
    limit = portal.settings.portal_max_submissions_per_ip
    for _ in range(2):  # a second try only if the window rolled over mid-way
        window = int(time.time() // portal.settings.portal_window_s)
        client, token = _visitor(portal)
        codes = [
            client.post(f"/portal/{SLUG}", data={"csrf_token": token}).status_code
            for _ in range(limit)
        ]
        refused = client.post(f"/portal/{SLUG}", data=_fields(token))
        if int(time.time() // portal.settings.portal_window_s) == window:
            break
    assert codes == [422] * limit
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    other, token = _visitor(portal)  # another address is not affected
    assert other.post(f"/portal/{SLUG}", data={"csrf_token": token}).status_code == 422


def test_an_operator_turns_a_portal_on_and_off_from_the_console(live_ui):
    oscar, token = live_ui.login("oscar")
    rita, rita_token = live_ui.login("rita")
    form = {"csrf_token": rita_token, "tenant": "ui-tests", "action": "on", "slug": "ui-console"}
    assert rita.post("/ops/portals", data=form).status_code == 403
    assert oscar.post("/ops/portals", data={**form, "csrf_token": ""}).status_code == 403
    assert oscar.post("/ops/portals", data={**form, "csrf_token": token}).status_code == 303
    assert "/portal/ui-console" in oscar.get("/ops").text
    assert httpx.get(f"{live_ui.url}/portal/ui-console").status_code == 200
    off = {"csrf_token": token, "tenant": "ui-tests", "action": "off"}
    assert oscar.post("/ops/portals", data=off).status_code == 303
    assert httpx.get(f"{live_ui.url}/portal/ui-console").status_code == 404
    with psycopg.connect(live_ui.database_url) as conn:
        rows = conn.execute(
            "SELECT actor, action, details->>'slug' FROM audit_log "
            "WHERE action LIKE 'tenant.portal%%' AND actor = 'oscar' ORDER BY id"
        ).fetchall()
    assert rows[-2:] == [
        ("oscar", "tenant.portal_on", "ui-console"),
        ("oscar", "tenant.portal_off", "ui-console"),
    ]


def test_posts_from_many_addresses_are_limited_by_the_tenants_rate(portal):
    def set_rate(per_minute: int) -> None:
        with psycopg.connect(portal.database_url) as conn:
            conn.execute(
                "UPDATE tenants SET rate_limit_per_minute = %s WHERE name = 'ui-tests'",
                (per_minute,),
            )

    set_rate(2)
    try:
        for _ in range(2):  # a second try only if the minute rolled over mid-way
            minute = int(time.time() // 60)
            codes = []
            for _ in range(3):
                client, token = _visitor(portal)  # a new address each time
                codes.append(client.post(f"/portal/{SLUG}", data={"csrf_token": token}))
            if int(time.time() // 60) == minute:
                break
    finally:
        set_rate(6000)
    assert codes[-1].status_code == 429 and "Too many requests right now" in codes[-1].text
