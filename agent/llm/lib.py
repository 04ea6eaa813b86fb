"""LiteLLM, imported on first use.

Importing LiteLLM takes seconds (its provider modules and price tables), so a process that never
calls a model (most CLI commands, the monitor's worker, an API serving a knn version) should not
pay for it at start-up. Building a :class:`~agent.llm.gateway.ModelGateway` (a version that calls
a model is loaded) imports it in a background thread (:func:`warm`), so that the first model call
does not stall the API's event loop on the import.

LiteLLM would fetch its model price map (and Anthropic's beta headers) from the network; the
copies bundled with it are used instead, offline. The switches are environment variables that
LiteLLM reads on import, so :func:`offline_defaults` sets them before any import of it.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from types import ModuleType


def offline_defaults() -> None:
    """LiteLLM's bundled price map and headers, not a network fetch (an explicit setting wins)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS", "True")


@functools.cache
def litellm() -> ModuleType:
    """The LiteLLM module (imported and configured on the first call, then the same module)."""
    offline_defaults()
    import litellm as module

    module.suppress_debug_info = True  # no "Give Feedback" banners on every provider error
    return module


def warm() -> threading.Thread | None:
    """Import LiteLLM in a background thread, unless an import has begun (Python's import lock
    makes a caller that needs it meanwhile wait for that import instead of starting another)."""
    if "litellm" in sys.modules:
        return None
    thread = threading.Thread(target=litellm, name="litellm-import", daemon=True)
    thread.start()
    return thread
