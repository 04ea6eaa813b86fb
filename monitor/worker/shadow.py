"""``versions.run_shadow``: run the shadow version on one live ticket (enqueued by the API
after the production decision was recorded). Idempotent: one shadow decision per (ticket,
version), and a redelivered message finds it there."""

from __future__ import annotations

import logging
import uuid

from agent.config import get_settings
from agent.services.shadow_dispatch import SHADOW_TASK
from agent.services.shadow_runtime import shadow_runtime
from monitor.worker.celery_app import app
from monitor.worker.tasks import DB_ERRORS

log = logging.getLogger(__name__)


@app.task(
    name=SHADOW_TASK,
    acks_late=True,
    autoretry_for=DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
)
def run_shadow(ticket_id: str, version_id: str) -> str:
    """Route the ticket through the shadow version; what happened (``recorded``, ``exists``,
    ``not_shadow``, ``budget``, ``rate``, ``no_ticket``)."""
    outcome = shadow_runtime(get_settings()).run(uuid.UUID(ticket_id), uuid.UUID(version_id))
    if outcome not in ("recorded", "exists"):
        log.info("shadow run of ticket %s by %s: %s", ticket_id, version_id, outcome)
    return outcome
