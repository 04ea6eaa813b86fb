"""What can go wrong in a model call, as a small closed set of kinds, and how to tell them."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterable, Mapping
from enum import StrEnum


class LLMErrorKind(StrEnum):
    """Why a model call gave no usable answer. Recorded on decisions; keep the values stable."""

    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    CONNECTION_ERROR = "connection_error"
    CIRCUIT_OPEN = "circuit_open"
    AUTH_ERROR = "auth_error"
    INVALID_REQUEST = "invalid_request"
    CONTENT_FILTERED = "content_filtered"
    INVALID_OUTPUT = "invalid_output"
    PROVIDER_ERROR = "provider_error"


# Worth another attempt on the same model: the provider may answer a moment later.
RETRYABLE = frozenset(
    {
        LLMErrorKind.TIMEOUT,
        LLMErrorKind.RATE_LIMITED,
        LLMErrorKind.SERVER_ERROR,
        LLMErrorKind.CONNECTION_ERROR,
    }
)
# Say that the provider is unhealthy: these count towards opening its circuit.
UNHEALTHY = RETRYABLE

_MAX_MESSAGE = 300


class ModelCallError(Exception):
    """One failed attempt, with secrets already removed from its message."""

    def __init__(
        self,
        kind: LLMErrorKind,
        message: str,
        *,
        status_code: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.retry_after_s = retry_after_s


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any of ``secrets``, cut to a length fit for a log line."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _kind_for_status(status: int) -> LLMErrorKind:
    if status == 408:
        return LLMErrorKind.TIMEOUT
    if status == 429:
        return LLMErrorKind.RATE_LIMITED
    if status in (401, 403):
        return LLMErrorKind.AUTH_ERROR
    if status >= 500:
        return LLMErrorKind.SERVER_ERROR
    return LLMErrorKind.INVALID_REQUEST


def _caused_by_connection_failure(exc: BaseException) -> bool:
    """Whether ``exc`` or what it wraps is a failure to reach the server (not a timeout)."""
    import openai

    seen: BaseException | None = exc
    for _ in range(8):  # the chain LiteLLM builds is a few links deep
        if seen is None or isinstance(seen, openai.APITimeoutError | TimeoutError):
            return False
        if isinstance(seen, openai.APIConnectionError | ConnectionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def classify_exception(exc: BaseException, *, secrets: Iterable[str] = ()) -> ModelCallError:
    """Map an exception from LiteLLM (or from our own timeout) onto an error kind."""
    from agent.llm.lib import litellm  # imported on first use (see agent.llm.lib)

    lib = litellm()
    message = redact(str(exc) or type(exc).__name__, secrets)
    if isinstance(exc, TimeoutError | lib.Timeout):
        return ModelCallError(LLMErrorKind.TIMEOUT, message, status_code=408)
    if isinstance(exc, lib.ContentPolicyViolationError):
        return ModelCallError(LLMErrorKind.CONTENT_FILTERED, message, status_code=400)
    if _caused_by_connection_failure(exc):
        # LiteLLM reports these as status 500; no server answered.
        return ModelCallError(LLMErrorKind.CONNECTION_ERROR, message)
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 400:
        headers = getattr(exc, "litellm_response_headers", None)
        retry_after = parse_retry_after(headers) if status == 429 else None
        return ModelCallError(
            _kind_for_status(status), message, status_code=status, retry_after_s=retry_after
        )
    return ModelCallError(LLMErrorKind.PROVIDER_ERROR, message)
