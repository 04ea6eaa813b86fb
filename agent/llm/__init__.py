"""The model gateway (LiteLLM): timeouts, retries, fallback model, circuit breaker, cost.

LiteLLM itself is imported on first use (:mod:`agent.llm.lib`: it takes seconds); its offline
switches are set here, so that code importing LiteLLM directly after this package gets them too.
"""

from __future__ import annotations

from agent.llm.lib import offline_defaults

offline_defaults()

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
