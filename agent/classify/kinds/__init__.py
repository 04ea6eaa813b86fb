"""Classifier kinds: every module here registers one (see :mod:`agent.classify.registry`).

Importing this package imports each module in it, so a new kind is a new module, nothing else.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
