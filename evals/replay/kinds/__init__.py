"""Phase kinds of replay scenarios: every module here registers one (see :mod:`.base`).

Importing this package imports each module in it, so a new kind is a new module, nothing else.
"""

import importlib
import pkgutil

from evals.replay.kinds.base import (
    Draw,
    KindSpec,
    PhaseBase,
    Tickets,
    all_kinds,
    drift_kinds,
    get_kind,
    kinds_for,
    kinds_help,
    phase_union,
    register,
)

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "Draw",
    "KindSpec",
    "PhaseBase",
    "Tickets",
    "all_kinds",
    "drift_kinds",
    "get_kind",
    "kinds_for",
    "kinds_help",
    "phase_union",
    "register",
]
