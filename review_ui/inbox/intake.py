"""Mail becomes a ticket: the inbox's service, shared by the SMTP server and the IMAP poller.

A mail to ``<slug>@<domain>`` is accepted when that tenant's portal is on (the status link in
the acknowledgement lives on the portal), limited per sender, per client address and per tenant
before anything is stored, then routed through the ticket router exactly as ``POST /v1/tickets``
and the portal's form are (``channel: email``, ``source: email``, the Message-ID as
``external_id``): a re-delivered mail is the same ticket and is not acknowledged twice.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from agent.metrics import INBOX_MESSAGES
from agent.runtime import AgentRuntime
from agent.services.portal import PortalTenant, portal_tenant
from agent.services.router import Submission
from review_ui.inbox.acks import Acknowledgement, AckSender
from review_ui.inbox.mail import InboundMail
from review_ui.security.portal_limit import SubmissionLimiter
from review_ui.security.secret import session_secret
from review_ui.security.status_tokens import DAY_S, StatusTokens
from review_ui.services import portal

log = logging.getLogger(__name__)

SOURCE, CHANNEL = portal.EMAIL_SOURCE, "email"
PREFIX = "ticketwatch:inbox"


class Limited(enum.Enum):
    SENDER = "sender"
    CLIENT = "client"
    TENANT = "tenant"


@dataclass(frozen=True)
class Delivered:
    reference: str
    duplicate: bool
    status_url: str


class MailIntake:
    """Everything the inbox decides, whichever protocol the mail came by."""

    def __init__(self, runtime: AgentRuntime, *, acks: AckSender | None = None) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.acks = acks
        self.domain = (settings.inbox_domain or "").lower() or None
        self.tokens = StatusTokens(
            session_secret(settings), max_age_s=settings.portal_status_link_max_age_days * DAY_S
        )
        self.base_url = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip(
            "/"
        )
        window = settings.inbox_window_s
        self._per_sender = SubmissionLimiter(
            runtime.redis,
            max_per_window=settings.inbox_max_messages_per_sender,
            window_s=window,
            prefix=f"{PREFIX}-sender",
        )
        self._per_client = SubmissionLimiter(
            runtime.redis,
            max_per_window=settings.inbox_max_messages_per_client,
            window_s=window,
            prefix=f"{PREFIX}-client",
        )
        self._per_tenant = SubmissionLimiter(
            runtime.redis, max_per_window=1, window_s=60, prefix=f"{PREFIX}-tenant"
        )

    def slug_of(self, address: str) -> str | None:
        """The tenant slug an address names, or None when its domain is not the inbox's."""
        local, _, domain = address.strip().strip("<>").lower().rpartition("@")
        if not local or (self.domain is not None and domain != self.domain):
            return None
        return local

    async def tenant_for(self, address: str) -> PortalTenant | None:
        """The tenant that takes mail at ``address``: its portal must be on."""
        slug = self.slug_of(address)
        return None if slug is None else await self.tenant(slug)

    async def tenant(self, slug: str) -> PortalTenant | None:
        async with self.runtime.sessions() as session:
            return await portal_tenant(session, slug)

    async def over_limit(self, *, sender: str, client: str | None) -> Limited | None:
        """Count one message from ``sender`` (and from the client address, for SMTP)."""
        if client is not None and not await self._per_client.allow(client):
            return Limited.CLIENT
        if not await self._per_sender.allow(sender.lower()):
            return Limited.SENDER
        return None

    async def tenant_over_limit(self, tenant: PortalTenant) -> bool:
        """The tenant's per-minute rate over all its mail (a flood from many senders)."""
        return not await self._per_tenant.allow(str(tenant.id), limit=tenant.rate_limit_per_minute)

    async def deliver(
        self, mail: InboundMail, *, tenant: PortalTenant, reply_to: str, inbox_address: str
    ) -> Delivered:
        """Store and route the mail as a ticket; acknowledge it the first time."""
        routed = await self.runtime.router.submit(
            self._submission(mail, reply_to=reply_to), tenant_id=tenant.id
        )
        reference = portal.reference_of(routed.ticket)
        token = self.tokens.token(ticket_id=routed.ticket.id, tenant_id=tenant.id)
        status_url = f"{self.base_url}/portal/{tenant.slug}/status/{token}"
        INBOX_MESSAGES.labels("duplicate" if routed.duplicate else "accepted").inc()
        if not routed.duplicate and not mail.automatic and self.acks is not None:
            answer = await portal.received(
                self.runtime, routed=routed, tenant=tenant, reference=reference
            )
            self.acks.send_later(
                Acknowledgement(
                    to=reply_to,
                    inbox_address=inbox_address,
                    tenant_name=tenant.name,
                    mail=mail,
                    received=answer,
                    status_url=status_url,
                )
            )
        return Delivered(reference, routed.duplicate, status_url)

    def _submission(self, mail: InboundMail, *, reply_to: str) -> Submission:
        return Submission(
            source=SOURCE,
            external_id=mail.external_id,
            subject=mail.subject,
            body=mail.body,
            customer_id=(mail.sender or reply_to).lower() or None,
            channel=CHANNEL,
            metadata={
                SOURCE: {
                    "reference": portal.new_reference("E-"),
                    "from": mail.sender,
                    "name": mail.sender_name,
                    "return_path": reply_to,
                    "attachments": mail.attachments,
                    "html_only": mail.html_only,
                    "truncated": mail.truncated,
                }
            },
        )
