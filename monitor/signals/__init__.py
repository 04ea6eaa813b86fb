"""Drift signals: one pure function per module, registered by name.

Importing this package registers every built-in signal; use :func:`get_signal` and
:func:`all_signals` to reach them.
"""

from monitor.signals import (  # noqa: F401  (imported to register the signals)
    calibration_ece,
    embedding_classifier,
    embedding_mmd,
    entropy,
    history_disagreement,
    human_override,
    label_accuracy,
    novelty,
    ops,
    predicted_labels,
    prediction_mix,
    rates,
)
from monitor.signals.base import (
    SignalResult,
    SignalSpec,
    WindowSample,
    all_signals,
    get_signal,
    register,
)

__all__ = [
    "SignalResult",
    "SignalSpec",
    "WindowSample",
    "all_signals",
    "get_signal",
    "register",
]
