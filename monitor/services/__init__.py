"""The monitor's services: one window of one segment, computed and acted on in the database.

:mod:`~monitor.services.compute` computes a window (signals, thresholds, evidence, rows),
:mod:`~monitor.services.alert_lifecycle` moves its alert stream and
:mod:`~monitor.services.explain` says what changed. The caller (a task or a command) owns the
transaction. Services import storage and the pure layer, never the worker or the CLI.
"""
