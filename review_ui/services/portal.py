"""The public ticket portal: validate the form, submit it through the API's path (the ticket
router), and tell the person where their ticket is, in their words, not the agent's.

The page never shows queue names, probabilities or reasons; the queue's display name appears
only where the tenant opted in. The category hint is stored in the ticket's metadata and never
read for routing (the graph sees subject and body only).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Decision, Override, Ticket
from agent.repositories import decisions, history, reviews, tickets
from agent.runtime import AgentRuntime
from agent.services.portal import PortalTenant
from agent.services.router import Routed, Submission
from agent.taxonomy import HUMAN_TRIAGE, Taxonomy
from review_ui.services.review import taxonomy_for

SOURCE, CHANNEL = "portal", "web"
# Mail to the inbox (review_ui/inbox) is followed on the same status page.
EMAIL_SOURCE = "email"
# (field, label, required, maximum characters)
FIELDS = (
    ("name", "Your name", True, 200),
    ("email", "Email address", True, 254),
    ("subject", "Subject", True, 200),
    ("message", "Message", True, 10_000),
    ("category", "Category (optional)", False, 100),
)
HONEYPOT = "website"


@dataclass(frozen=True)
class PortalForm:
    name: str
    email: str
    subject: str
    message: str
    category: str


@dataclass(frozen=True)
class Received:
    """What the person sees after submitting."""

    reference: str
    ticket_id: uuid.UUID
    first_response: str | None
    team: str | None


@dataclass(frozen=True)
class Step:
    label: str
    at: datetime | None


@dataclass(frozen=True)
class PortalStatus:
    reference: str
    steps: list[Step]


def validate(form: dict[str, str]) -> tuple[PortalForm | None, dict[str, str]]:
    """The form's values, or a readable error per field."""
    values = {name: form.get(name, "").strip() for name, *_ in FIELDS}
    errors: dict[str, str] = {}
    for name, label, required, limit in FIELDS:
        if required and not values[name]:
            errors[name] = f"{label} is required."
        elif len(values[name]) > limit:
            errors[name] = f"{label} is too long: at most {limit:,} characters."
    email = values["email"]
    if "email" not in errors and ("@" not in email or " " in email or email.startswith("@")):
        errors["email"] = "Email address must look like name@example.com."
    ordered = {name: errors[name] for name, *_ in FIELDS if name in errors}
    return (None, ordered) if errors else (PortalForm(**values), {})


def new_reference(prefix: str = "P-") -> str:
    """A reference the person can quote: short, random (not the ticket's id)."""
    return prefix + secrets.token_hex(5).upper()


async def submit(runtime: AgentRuntime, *, tenant: PortalTenant, form: PortalForm) -> Received:
    """Route the ticket exactly as ``POST /v1/tickets`` does; answer in the person's terms."""
    reference = new_reference()
    submission = Submission(
        source=SOURCE,
        external_id=reference,
        subject=form.subject,
        body=form.message,
        customer_id=form.email.lower(),
        channel=CHANNEL,
        metadata={
            "portal": {"name": form.name, "email": form.email, "category_hint": form.category}
        },
    )
    routed = await runtime.router.submit(submission, tenant_id=tenant.id)
    return await received(runtime, routed=routed, tenant=tenant, reference=reference)


async def received(
    runtime: AgentRuntime, *, routed: Routed, tenant: PortalTenant, reference: str
) -> Received:
    """What the person is told of a routed ticket: its reference, the first-response target of
    its priority, and the team where the tenant shows it (the portal's answer, the inbox's
    acknowledgement)."""
    async with runtime.sessions() as session:
        taxonomy = await taxonomy_for(session, routed.decision)
    decision = routed.decision
    target = None
    if taxonomy is not None and decision.priority in taxonomy.priority_names:
        target = taxonomy.priority(decision.priority).target_first_response
    team = _team(taxonomy, decision.queue, tenant) if decision.routed_to != HUMAN_TRIAGE else None
    return Received(reference, routed.ticket.id, target, team)


def reference_of(ticket: Ticket) -> str:
    """The reference the person was given: the portal's is the external id; a mail's is kept
    in its metadata (its external id is the Message-ID)."""
    email = (ticket.metadata_ or {}).get(EMAIL_SOURCE)
    if ticket.source == EMAIL_SOURCE and isinstance(email, dict) and email.get("reference"):
        return str(email["reference"])
    return ticket.external_id


def _team(taxonomy: Taxonomy | None, queue: str | None, tenant: PortalTenant) -> str | None:
    """The queue's display name where the tenant shows it; never the queue's slug."""
    if not tenant.show_queue or taxonomy is None or queue not in taxonomy.queue_names:
        return None
    return taxonomy.queue(queue).display_name


async def status(
    session: AsyncSession, *, tenant: PortalTenant, ticket_id: uuid.UUID
) -> PortalStatus | None:
    """Received, routed (to a team or to human triage), resolved: with times. None when the
    ticket is not this portal's."""
    ticket = await tickets.get(session, ticket_id)
    if (
        ticket is None
        or ticket.tenant_id != tenant.id
        or ticket.source not in (SOURCE, EMAIL_SOURCE)
    ):
        return None
    decision = await decisions.final_for(session, ticket_id)
    outcome = await history.for_ticket(session, ticket_id)
    overrides = await reviews.overrides_for_ticket(session, ticket_id)
    taxonomy = await taxonomy_for(session, decision) if decision else None
    steps = [Step("Received", ticket.received_at)]
    steps.append(_routed_step(decision, overrides[-1] if overrides else None, taxonomy, tenant))
    resolved = outcome is not None and outcome.source == "helpdesk"
    steps.append(Step("Resolved", outcome.recorded_at if resolved and outcome else None))
    return PortalStatus(reference_of(ticket), steps)


def _routed_step(
    decision: Decision | None,
    override: Override | None,
    taxonomy: Taxonomy | None,
    tenant: PortalTenant,
) -> Step:
    """The agent's route, or the last reviewer's where one overrode it."""
    if override is not None:
        team = _team(taxonomy, override.new_queue, tenant) or "a team"
        return Step(f"Routed to {team} by our support staff", override.created_at)
    if decision is None:
        return Step("Being routed", None)
    if decision.routed_to == HUMAN_TRIAGE:
        return Step("With our support staff, who will route it to a team", decision.created_at)
    return Step(
        f"Routed to {_team(taxonomy, decision.queue, tenant) or 'a team'}", decision.created_at
    )
