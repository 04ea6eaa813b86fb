"""The monitor's worker: the Celery app, its tasks, and what a task does outside the database.

:mod:`~monitor.worker.celery_app` (broker, beat schedule), :mod:`~monitor.worker.tasks` (thin
and idempotent: each makes its service calls and owns its transaction, no SQL of its own; the
same holds for actions and webhooks),
:mod:`~monitor.worker.actions` (opt-in kill switch and review boost on an alert),
:mod:`~monitor.worker.webhooks` (signed alert POSTs) and :mod:`~monitor.worker.metrics`
(Prometheus gauges). Task names (``monitor.compute_window`` ...) are explicit, so moving a
module never orphans a queued message or a beat entry.
"""
