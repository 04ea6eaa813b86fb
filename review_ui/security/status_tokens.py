"""The private status link's token: the ticket's id and its tenant's, signed with the UI's
secret (HMAC, itsdangerous) under a salt of its own, so a session cookie is never a valid
token and a token is never a session. Without the secret no one can make one, and changing
any character of it makes it invalid."""

from __future__ import annotations

import uuid

from itsdangerous import BadData, URLSafeSerializer

SALT = "ticketwatch.portal-status"


class StatusTokens:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SALT)

    def token(self, *, ticket_id: uuid.UUID, tenant_id: uuid.UUID) -> str:
        return self._serializer.dumps([ticket_id.hex, tenant_id.hex])

    def ticket_id(self, token: str, *, tenant_id: uuid.UUID) -> uuid.UUID | None:
        """The ticket the token names, if it is genuine and issued for ``tenant_id``."""
        try:
            ticket_hex, tenant_hex = self._serializer.loads(token)
            ticket_id, issued_for = uuid.UUID(ticket_hex), uuid.UUID(tenant_hex)
        except (BadData, ValueError, TypeError):
            return None
        return ticket_id if issued_for == tenant_id else None
