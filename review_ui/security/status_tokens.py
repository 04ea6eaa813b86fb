"""The private status link's token: the ticket's id and its tenant's, signed with the UI's
secret (HMAC, itsdangerous) under a salt of its own, so a session cookie is never a valid
token and a token is never a session. Without the secret no one can make one, and changing
any character of it makes it invalid. The token carries the time it was issued and is refused
once it is older than its maximum age (``portal_status_link_max_age_days``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

SALT = "ticketwatch.portal-status"
DAY_S = 86_400


def _signer_with_clock(now: Callable[[], float]) -> type[TimestampSigner]:
    class _Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(now())

    return _Signer


class StatusTokens:
    def __init__(
        self, secret: str, *, max_age_s: int = 90 * DAY_S, now: Callable[[], float] = time.time
    ) -> None:
        self.max_age_s = max_age_s
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT, signer=_signer_with_clock(now))

    def token(self, *, ticket_id: uuid.UUID, tenant_id: uuid.UUID) -> str:
        return self._serializer.dumps([ticket_id.hex, tenant_id.hex])

    def ticket_id(self, token: str, *, tenant_id: uuid.UUID) -> uuid.UUID | None:
        """The ticket the token names, if it is genuine, not expired and issued for
        ``tenant_id``."""
        try:
            ticket_hex, tenant_hex = self._serializer.loads(token, max_age=self.max_age_s)
            ticket_id, issued_for = uuid.UUID(ticket_hex), uuid.UUID(tenant_hex)
        except (BadData, ValueError, TypeError):
            return None
        return ticket_id if issued_for == tenant_id else None
