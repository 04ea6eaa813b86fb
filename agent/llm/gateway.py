"""The model gateway: one chat completion from any LiteLLM model, made dependable.

Each call has a per-attempt timeout and an overall deadline; retryable failures (timeouts,
connection errors, 5xx, 429) are retried with exponential backoff and jitter (a 429's
Retry-After is honoured when it fits the deadline); a primary model that still fails hands
over to the fallback; a circuit breaker per endpoint skips a dead provider without a request.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)
from tenacity.stop import stop_base

from agent.llm.circuit import CircuitBreakers
from agent.llm.errors import RETRYABLE, UNHEALTHY, LLMErrorKind, ModelCallError, classify_exception
from agent.llm.lib import litellm, warm
from agent.llm.response import read_response
from agent.llm.result import LLMResult, ModelFailure

log = logging.getLogger(__name__)

# Slack on top of LiteLLM's own timeout before we cancel the request ourselves.
_HARD_TIMEOUT_GRACE_S = 1.0


@dataclass(frozen=True)
class ModelEndpoint:
    """A LiteLLM model string and where to reach it (``api_base``, key) when not the default."""

    model: str
    api_base: str | None = None
    api_key: SecretStr | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return f"{self.model}@{self.api_base or 'default'}"


@dataclass(frozen=True)
class RetryPolicy:
    """Retries on one model: at most ``max_retries`` more attempts after the first."""

    max_retries: int = 2
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    jitter_s: float = 0.5
    # A 429 asking for a longer wait than this is not waited on: the fallback is tried.
    max_retry_after_s: float = 30.0


@dataclass(frozen=True)
class ChatRequest:
    messages: Sequence[Mapping[str, str]]
    response_format: Mapping[str, Any] | None = None
    temperature: float = 0.0
    max_tokens: int | None = None
    logprobs: bool = False
    top_logprobs: int | None = None
    seed: int | None = None

    def litellm_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "messages": [dict(m) for m in self.messages],
            "temperature": self.temperature,
        }
        optional = {
            "response_format": dict(self.response_format) if self.response_format else None,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "logprobs": True if self.logprobs else None,
            "top_logprobs": self.top_logprobs if self.logprobs else None,
        }
        kwargs.update({k: v for k, v in optional.items() if v is not None})
        return kwargs


@dataclass
class _Attempts:
    count: int = 0


class ModelGateway:
    """Completes chats on ``primary``, then ``fallback``; never raises for model failures."""

    def __init__(
        self,
        *,
        primary: ModelEndpoint,
        fallback: ModelEndpoint | None = None,
        timeout_s: float = 20.0,
        total_timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        breakers: CircuitBreakers | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        warm()  # a version that calls a model is loaded: import LiteLLM before its first call
        self.primary = primary
        self.fallback = fallback
        self._timeout_s = timeout_s
        self._total_timeout_s = max(total_timeout_s, timeout_s)
        self._retry = retry or RetryPolicy()
        self._breakers = breakers or CircuitBreakers()
        self._clock = clock
        self._secrets = tuple(
            e.api_key.get_secret_value() for e in (primary, fallback) if e and e.api_key
        )

    async def complete(
        self,
        *,
        messages: Sequence[Mapping[str, str]],
        response_format: Mapping[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        logprobs: bool = False,
        top_logprobs: int | None = None,
        seed: int | None = None,
    ) -> LLMResult:
        """One chat completion; the result carries the answer or a typed error."""
        request = ChatRequest(
            messages, response_format, temperature, max_tokens, logprobs, top_logprobs, seed
        )
        started = self._clock()
        failures: list[ModelFailure] = []
        last: ModelCallError | None = None
        for endpoint, deadline in self._plan(started):
            attempts = _Attempts()
            try:
                response = await self._call_with_retries(endpoint, request, deadline, attempts)
            except ModelCallError as err:
                failures.append(ModelFailure(endpoint.model, err.kind, attempts.count))
                last = err
                continue
            result = _read(response, endpoint)
            result.attempts = sum(f.attempts for f in failures) + attempts.count
            result.latency_ms = (self._clock() - started) * 1000
            result.failures = failures
            return result
        assert last is not None
        return LLMResult(
            model=failures[-1].model,
            latency_ms=(self._clock() - started) * 1000,
            attempts=sum(f.attempts for f in failures),
            error=last.kind,
            error_message=last.message,
            failures=failures,
        )

    def _plan(self, started: float) -> list[tuple[ModelEndpoint, float]]:
        """Each model with its deadline; the primary leaves the fallback one full attempt."""
        deadline = started + self._total_timeout_s
        if self.fallback is None:
            return [(self.primary, deadline)]
        reserve = min(self._timeout_s, self._total_timeout_s / 2)
        return [(self.primary, deadline - reserve), (self.fallback, deadline)]

    async def _call_with_retries(
        self, endpoint: ModelEndpoint, request: ChatRequest, deadline: float, attempts: _Attempts
    ) -> Any:
        retrying = AsyncRetrying(
            retry=retry_if_exception(self._should_retry),
            stop=stop_after_attempt(self._retry.max_retries + 1)
            | _StopAtDeadline(deadline, self._clock),
            wait=self._wait,
            before_sleep=_log_retry(endpoint),
            reraise=True,
        )
        return await retrying(self._attempt, endpoint, request, deadline, attempts)

    async def _attempt(
        self, endpoint: ModelEndpoint, request: ChatRequest, deadline: float, attempts: _Attempts
    ) -> Any:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise ModelCallError(LLMErrorKind.TIMEOUT, "deadline exceeded before the attempt")
        breaker = self._breakers.for_endpoint(endpoint.key)
        if not breaker.allow():
            raise ModelCallError(LLMErrorKind.CIRCUIT_OPEN, f"circuit open for {endpoint.model}")
        attempts.count += 1
        timeout = min(self._timeout_s, remaining)
        try:
            response = await asyncio.wait_for(
                litellm().acompletion(**self._call_kwargs(endpoint, request, timeout)),
                timeout + _HARD_TIMEOUT_GRACE_S,
            )
        except Exception as exc:
            err = classify_exception(exc, secrets=self._secrets)
            if err.kind in UNHEALTHY:
                breaker.record_failure()
            else:
                breaker.record_success()  # the provider answered, if only to refuse
            log.warning(
                "model call failed: model=%s kind=%s attempt=%d status=%s: %s",
                endpoint.model,
                err.kind,
                attempts.count,
                err.status_code,
                err.message,
            )
            raise err from None
        breaker.record_success()
        return response

    def _call_kwargs(
        self, endpoint: ModelEndpoint, request: ChatRequest, timeout: float
    ) -> dict[str, Any]:
        kwargs = request.litellm_kwargs()
        kwargs.update(
            model=endpoint.model,
            timeout=timeout,
            # Retries are ours (tenacity): LiteLLM and the provider SDKs must not add theirs.
            num_retries=0,
            max_retries=0,
            # Providers without logprobs or seed get the call without them.
            drop_params=True,
        )
        if endpoint.api_base:
            kwargs["api_base"] = endpoint.api_base
        if endpoint.api_key is not None:
            kwargs["api_key"] = endpoint.api_key.get_secret_value()
        return kwargs

    def _should_retry(self, exc: BaseException) -> bool:
        if not isinstance(exc, ModelCallError) or exc.kind not in RETRYABLE:
            return False
        wait = exc.retry_after_s
        return wait is None or wait <= self._retry.max_retry_after_s

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ModelCallError) and exc.retry_after_s is not None:
            return exc.retry_after_s
        return backoff_s(self._retry, state.attempt_number)


class _StopAtDeadline(stop_base):
    """Stop when the wait before the next attempt would end past the deadline."""

    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self._deadline = deadline
        self._clock = clock

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._clock() + retry_state.upcoming_sleep >= self._deadline


def _read(response: Any, endpoint: ModelEndpoint) -> LLMResult:
    try:
        return read_response(response, model=endpoint.model)
    except Exception as exc:  # a response LiteLLM accepted but we cannot read
        log.warning("unreadable response: model=%s: %s", endpoint.model, type(exc).__name__)
        return LLMResult(
            model=endpoint.model,
            error=LLMErrorKind.INVALID_OUTPUT,
            error_message=f"unreadable response ({type(exc).__name__})",
        )


def backoff_s(policy: RetryPolicy, attempt: int) -> float:
    """Exponential backoff with jitter before retry number ``attempt`` (1, 2, ...)."""
    exponential = policy.backoff_initial_s * 2 ** (attempt - 1)
    return min(exponential + random.uniform(0, policy.jitter_s), policy.backoff_max_s)


def _log_retry(endpoint: ModelEndpoint) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        log.info(
            "retrying model call: model=%s attempt=%d in %.2fs",
            endpoint.model,
            state.attempt_number + 1,
            state.upcoming_sleep,
        )

    return before_sleep
