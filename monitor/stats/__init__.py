"""The monitor's pure layer: numbers in, numbers out.

Window arithmetic and segments (:mod:`~monitor.stats.windows`), database rows as the arrays the
signals take (:mod:`~monitor.stats.samples`), thresholds from bootstrap nulls
(:mod:`~monitor.stats.calibration`, :mod:`~monitor.stats.null_distribution`), the combined
evidence (:mod:`~monitor.stats.evidence`) and the alert state machine
(:mod:`~monitor.stats.hysteresis`). Like :mod:`monitor.signals`, nothing here touches a
database, the network, Celery or the CLI, and nothing imports the layers above
(``tests/test_layers.py`` checks it).
"""
