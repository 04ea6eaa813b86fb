"""The portal's pure parts: form validation, the status token, slugs, the team it may name."""

from __future__ import annotations

import uuid

from agent.services.portal import PortalTenant, slug_of
from agent.taxonomy import load_taxonomy
from review_ui.security.status_tokens import DAY_S, StatusTokens
from review_ui.services.portal import _team, new_reference, validate

GOOD = {
    "name": "Dana",
    "email": "dana@example.com",
    "subject": "Card",
    "message": "Declined twice.",
}


def test_a_complete_form_is_valid_and_the_category_is_optional():
    form, errors = validate(GOOD)
    assert errors == {} and form is not None and form.category == ""


def test_errors_name_each_field_in_form_order():
    form, errors = validate({**GOOD, "email": "nope", "subject": " ", "message": "x" * 10_001})
    assert form is None
    assert list(errors) == ["email", "subject", "message"]
    assert errors["message"] == "Message is too long: at most 10,000 characters."


def test_a_token_names_its_ticket_for_its_tenant_only():
    tokens = StatusTokens("k" * 48)
    ticket, tenant = uuid.uuid4(), uuid.uuid4()
    token = tokens.token(ticket_id=ticket, tenant_id=tenant)
    assert tokens.ticket_id(token, tenant_id=tenant) == ticket
    assert tokens.ticket_id(token, tenant_id=uuid.uuid4()) is None
    assert StatusTokens("j" * 48).ticket_id(token, tenant_id=tenant) is None
    # A character inside the payload: the last one of a base64 signature may carry only
    # padding bits, so changing it need not change the signature.
    tampered = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    assert tokens.ticket_id(tampered, tenant_id=tenant) is None
    assert tokens.ticket_id(str(ticket), tenant_id=tenant) is None


def test_slugs_are_url_safe():
    assert slug_of("Acme Bank (EU)") == "acme-bank-eu"
    assert slug_of("--x--") == "x"


def test_references_are_distinct():
    assert len({new_reference() for _ in range(1000)}) == 1000


def test_the_team_is_named_only_by_display_name_and_only_on_opt_in():
    banking = load_taxonomy("banking77")
    named = banking.model_copy(
        update={
            "queues": [
                q.model_copy(update={"display_name": "Payments team"})
                if q.name == "transfers"
                else q
                for q in banking.queues
            ]
        }
    )
    shows, hides = (PortalTenant(uuid.uuid4(), "a", "A", flag) for flag in (True, False))
    assert _team(named, "transfers", shows) == "Payments team"
    assert _team(named, "transfers", hides) is None
    assert _team(banking, "transfers", shows) is None  # no display name: the slug stays hidden


def test_a_token_expires_after_its_maximum_age():
    clock = [1_000_000.0]
    tokens = StatusTokens("k" * 48, max_age_s=90 * DAY_S, now=lambda: clock[0])
    ticket, tenant = uuid.uuid4(), uuid.uuid4()
    token = tokens.token(ticket_id=ticket, tenant_id=tenant)
    clock[0] += 90 * DAY_S
    assert tokens.ticket_id(token, tenant_id=tenant) == ticket
    clock[0] += 1
    assert tokens.ticket_id(token, tenant_id=tenant) is None
