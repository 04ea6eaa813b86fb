"""Drift monitor: Celery workers computing calibrated signals per window and segment.

Layers, each importing only those listed before it (``tests/test_layers.py`` checks it):
:mod:`monitor.signals` and :mod:`monitor.stats` (pure), :mod:`monitor.storage` (SQL and
caches), :mod:`monitor.services` (a window computed), :mod:`monitor.worker` (Celery tasks,
actions, webhooks, metrics) and :mod:`monitor.cli` (commands).
"""
