"""The email inbox (``ticketwatch inbox``): mail to a tenant's address becomes a ticket through
the same router as the API and the portal, and is acknowledged with the portal's private status
link. ``mail`` and ``html_text`` are pure; ``intake`` decides; ``smtp`` and ``imap`` are the two
ways mail arrives; ``acks`` answers; ``server`` runs them. See docs/portal.md, "Email inbox"."""
