"""Handing live tickets to the shadow version: after the production decision is recorded,
on a thread of its own, so that the response never waits on the broker.

The share is sampled by a hash of the ticket id (the same ticket is always in or out at a
given percent). When the broker is down the message is dropped with a log line and a counter:
the production path is unaffected and a shadow is a sample anyway.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from celery import Celery

from agent.services.health import MONITOR_QUEUE

log = logging.getLogger(__name__)

SHADOW_TASK = "versions.run_shadow"


def shadow_bucket(ticket_id: uuid.UUID) -> int:
    """A stable bucket in [0, 100) for a ticket: shadowed when below the shadow's percent."""
    return int.from_bytes(hashlib.sha256(b"shadow:" + ticket_id.bytes).digest()[:4], "big") % 100


def publisher(broker_url: str) -> Callable[[str, str], None]:
    """Send ``versions.run_shadow`` by name, failing fast when the broker is unreachable."""
    app = Celery("ticketwatch-shadow-dispatch", set_as_current=False)
    app.conf.update(
        broker_url=broker_url,
        broker_connection_retry=False,
        broker_connection_max_retries=0,
        broker_connection_timeout=1.0,
        broker_transport_options={
            "visibility_timeout": 3600,
            "socket_connect_timeout": 0.5,
            "socket_timeout": 1.0,
            "max_retries": 0,
        },
        task_publish_retry=False,
        task_ignore_result=True,
    )

    def publish(ticket_id: str, version_id: str) -> None:
        app.send_task(SHADOW_TASK, args=(ticket_id, version_id), queue=MONITOR_QUEUE)

    return publish


class ShadowDispatch:
    """Decides, per recorded production decision, whether to enqueue a shadow run."""

    def __init__(
        self,
        *,
        shadow_label: Callable[[], tuple[uuid.UUID, int] | None],
        publish: Callable[[str, str], None],
        max_pending: int = 10_000,
    ) -> None:
        self._shadow_label = shadow_label
        self._publish = publish
        self._max_pending = max_pending
        self._pending = 0
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadow-dispatch")
        self.enqueued = 0
        self.dropped = 0

    def after_decision(self, ticket_id: uuid.UUID, served_by: uuid.UUID | None) -> bool:
        """Enqueue a shadow run of the ticket if it falls in the shadow's share; True if so.
        Never raises and never blocks on the broker."""
        label = self._shadow_label()
        if label is None:
            return False
        version_id, percent = label
        if percent <= 0 or version_id == served_by or shadow_bucket(ticket_id) >= percent:
            return False
        with self._lock:
            if self._pending >= self._max_pending:
                self.dropped += 1
                return False
            self._pending += 1
        self._executor.submit(self._send, str(ticket_id), str(version_id))
        return True

    def _send(self, ticket_id: str, version_id: str) -> None:
        try:
            self._publish(ticket_id, version_id)
            self.enqueued += 1
        except Exception as exc:  # noqa: BLE001 - a shadow never fails production
            self.dropped += 1
            log.warning("shadow run of ticket %s not enqueued: %s", ticket_id, exc)
        finally:
            with self._lock:
                self._pending -= 1

    def close(self, *, flush: bool = True) -> None:
        """Stop: after sending what is queued, or (``flush`` False, a server's shutdown, which
        must not wait on a broker that is down) after the send in flight only."""
        self._executor.shutdown(wait=True, cancel_futures=not flush)
