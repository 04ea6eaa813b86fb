"""The monitor's storage layer: all of its SQL, and what it caches from the database.

Windows, references, calibrations and signal values (:mod:`~monitor.storage.repository`),
alerts and webhook deliveries (:mod:`~monitor.storage.alerts`), which traffic a window is
compared with (:mod:`~monitor.storage.references`) and calibrations cached in Postgres
(:mod:`~monitor.storage.calibration_cache`). Functions take the caller's synchronous session
and never commit. Storage imports the pure layer (:mod:`monitor.stats`, :mod:`monitor.signals`)
and the agent (models, repositories, settings), never the monitor's services, worker or CLI.
"""
