"""The monitor's services: one window of one segment, computed and acted on in the database.

:mod:`~monitor.services.compute` computes a window (signals, thresholds, evidence, rows),
:mod:`~monitor.services.alert_lifecycle` moves its alert stream and
:mod:`~monitor.services.explain` says what changed; :mod:`~monitor.services.deliveries` is the
database side of a webhook and :mod:`~monitor.services.references` what ``monitor rebaseline``
and ``monitor status`` do. The caller (a task or a command) owns the transaction. Services
import storage and the pure layer, never the worker or the CLI; the worker and the CLI import
services, never storage (``tests/test_layers.py``).
"""
