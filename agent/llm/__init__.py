"""The model gateway (LiteLLM): timeouts, retries, fallback model, circuit breaker, cost.

LiteLLM would fetch its model price map (and Anthropic's beta headers) from the network; the
copies bundled with it are used instead, offline. The switches are environment variables that
LiteLLM reads on import, so they are set here, before anything imports LiteLLM.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS", "True")

import litellm  # noqa: E402

litellm.suppress_debug_info = True  # no "Give Feedback" banners on every provider error

from agent.llm.circuit import (  # noqa: E402
    CircuitBreaker,
    CircuitBreakers,
    CircuitState,
    shared_breakers,
)
from agent.llm.errors import LLMErrorKind, ModelCallError  # noqa: E402
from agent.llm.gateway import ModelEndpoint, ModelGateway, RetryPolicy  # noqa: E402
from agent.llm.result import LLMResult, ModelFailure, TokenLogprob  # noqa: E402

__all__ = [
    "CircuitBreaker",
    "CircuitBreakers",
    "CircuitState",
    "LLMErrorKind",
    "LLMResult",
    "ModelCallError",
    "ModelEndpoint",
    "ModelFailure",
    "ModelGateway",
    "RetryPolicy",
    "TokenLogprob",
    "shared_breakers",
]
