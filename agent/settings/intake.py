"""Settings of the review UI, the ticket portal and the email inbox."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class IntakeSettings(BaseModel):
    """Fields of :class:`agent.config.Settings` (environment: ``TICKETWATCH_`` + the name)."""

    # --- review UI ---
    session_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs the UI's session cookies. Unset: generated once and kept "
        "in <data_dir>/session_secret (mode 0600); every API process must share it.",
    )
    session_https_only: bool = Field(
        default=False,
        description="Always mark the session cookie Secure. Unset, it is Secure whenever the "
        "request came over HTTPS (directly, or X-Forwarded-Proto from a trusted proxy).",
    )
    session_max_age_s: int = Field(
        default=12 * 3600, ge=60, description="A UI login lasts this long, then asks again."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins per username (and client) per window."
    )
    login_max_failures_per_ip: int = Field(
        default=30, ge=1, description="Failed logins per client address per window."
    )
    login_window_s: int = Field(
        default=900, ge=1, description="Window of the login rate limit, in seconds."
    )
    portal_max_submissions_per_ip: int = Field(
        default=10, ge=1, description="Portal form posts one client address may make per window."
    )
    portal_window_s: int = Field(
        default=3600, ge=1, description="Window of the portal's per-address limit, in seconds."
    )
    portal_status_link_max_age_days: int = Field(
        default=90,
        ge=1,
        description="A ticket's private status link (portal answer, email acknowledgement) "
        "works this many days after it was issued.",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL of the portal as people reach it, for links sent by mail (e.g. "
        "https://support.example.com). Unset: http://<host>:<port>.",
    )

    # --- email inbox (`ticketwatch inbox`) ---
    inbox_host: str = Field(default="127.0.0.1", description="Address the SMTP inbox binds.")
    inbox_port: int = Field(default=8025, ge=1, le=65535, description="Port the SMTP inbox binds.")
    inbox_domain: str | None = Field(
        default=None,
        description="Mail domain of the inbox: it accepts <tenant-slug>@<domain>. Unset: any "
        "domain (the local part names the tenant).",
    )
    inbox_max_message_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Larger messages are refused with SMTP 552 (attachments included).",
    )
    inbox_max_messages_per_sender: int = Field(
        default=10, ge=1, description="Messages one sender address may send per window."
    )
    inbox_max_messages_per_client: int = Field(
        default=60, ge=1, description="Messages one SMTP client address may send per window."
    )
    inbox_window_s: int = Field(
        default=3600, ge=1, description="Window of the inbox's per-sender and per-client limits."
    )
    inbox_imap_poll_s: float = Field(
        default=30.0, gt=0, description="How often `ticketwatch inbox --imap` polls the mailbox."
    )
    inbox_imap_password: SecretStr | None = Field(
        default=None,
        description="Password of the mailbox `ticketwatch inbox --imap URL` polls, where the URL "
        "has none (never logged).",
    )
    inbox_relay_host: str | None = Field(
        default=None,
        description="SMTP relay that sends acknowledgements. Unset: no acknowledgements.",
    )
    inbox_relay_port: int = Field(default=587, ge=1, le=65535, description="Port of the relay.")
    inbox_relay_tls: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="How to reach the relay: STARTTLS, TLS from the start (465), or plain.",
    )
    inbox_relay_username: str | None = Field(
        default=None, description="Relay login. Unset: no authentication."
    )
    inbox_relay_password: SecretStr | None = Field(
        default=None, description="Relay password (never logged)."
    )
    inbox_ack_from: str | None = Field(
        default=None,
        description="From address of acknowledgements. Unset: the address the person wrote to.",
    )
    review_page_size: int = Field(
        default=50, ge=5, le=500, description="Rows per page of the review queue and audit log."
    )
