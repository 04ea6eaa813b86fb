"""The model gateway against a real HTTP server that fails on purpose."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import litellm
import pytest
from pydantic import SecretStr

from agent.llm import (
    CircuitBreakers,
    CircuitState,
    LLMErrorKind,
    LLMResult,
    ModelEndpoint,
    ModelGateway,
    RetryPolicy,
)
from tests.fakes.openai_server import Fail, FakeOpenAIServer, Reply, token_logprobs

T = TypeVar("T")
MESSAGES = [{"role": "user", "content": "My card was charged twice."}]
FAST_RETRIES = RetryPolicy(max_retries=2, backoff_initial_s=0.01, backoff_max_s=0.05, jitter_s=0.01)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def endpoint(server: FakeOpenAIServer, name: str, key: str = "sk-test-key") -> ModelEndpoint:
    return ModelEndpoint(f"openai/{name}", api_base=server.base_url, api_key=SecretStr(key))


def gateway(
    server: FakeOpenAIServer,
    *,
    fallback: str | None = None,
    retry: RetryPolicy = FAST_RETRIES,
    breakers: CircuitBreakers | None = None,
    timeout_s: float = 5.0,
    total_timeout_s: float = 20.0,
    key: str = "sk-test-key",
) -> ModelGateway:
    return ModelGateway(
        primary=endpoint(server, "primary", key),
        fallback=endpoint(server, fallback) if fallback else None,
        timeout_s=timeout_s,
        total_timeout_s=total_timeout_s,
        retry=retry,
        breakers=breakers or CircuitBreakers(failure_threshold=100, cooldown_s=60),
    )


def complete(gw: ModelGateway, **kwargs: Any) -> LLMResult:
    return run(gw.complete(messages=MESSAGES, **kwargs))


def test_retries_server_errors_then_returns_the_answer(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", Fail(500), Fail(503), Reply("billing"))

    result = complete(gateway(fake_openai))

    assert result.ok and result.text == "billing"
    assert result.attempts == 3 and fake_openai.count("primary") == 3
    assert result.model == "openai/primary"
    assert (result.prompt_tokens, result.completion_tokens) == (42, 9)
    assert result.cost_usd == 0.0  # a model LiteLLM has no price for
    assert result.latency_ms > 0


def test_gives_up_after_the_last_retry(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", then=Fail(502))

    result = complete(gateway(fake_openai))

    assert result.error is LLMErrorKind.SERVER_ERROR
    assert result.attempts == 3 and fake_openai.count("primary") == 3
    assert result.text is None


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, LLMErrorKind.INVALID_REQUEST),
        (422, LLMErrorKind.INVALID_REQUEST),
        (401, LLMErrorKind.AUTH_ERROR),
    ],
)
def test_client_errors_are_not_retried(
    fake_openai: FakeOpenAIServer, status: int, kind: LLMErrorKind
) -> None:
    fake_openai.script("primary", then=Fail(status))

    result = complete(gateway(fake_openai))

    assert result.error is kind
    assert fake_openai.count("primary") == 1


def test_a_slow_model_times_out_within_bounded_time(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", then=Reply("late", delay_s=5))
    retry = RetryPolicy(max_retries=1, backoff_initial_s=0.01, backoff_max_s=0.01, jitter_s=0)

    started = time.monotonic()
    result = complete(gateway(fake_openai, retry=retry, timeout_s=0.3))
    elapsed = time.monotonic() - started

    assert result.error is LLMErrorKind.TIMEOUT
    assert fake_openai.count("primary") == 2
    assert elapsed < 2 * 0.3 + 1.0  # two attempts, not two five-second waits


def test_the_total_deadline_cuts_retries_short(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", then=Reply("late", delay_s=5))
    retry = RetryPolicy(max_retries=20, backoff_initial_s=0.01, backoff_max_s=0.01, jitter_s=0)

    started = time.monotonic()
    result = complete(gateway(fake_openai, retry=retry, timeout_s=0.4, total_timeout_s=1.0))
    elapsed = time.monotonic() - started

    assert result.error is LLMErrorKind.TIMEOUT
    assert elapsed < 1.0 + 0.6
    assert 2 <= fake_openai.count("primary") <= 4


def test_rate_limit_waits_as_long_as_retry_after_says(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", Fail(429, retry_after="1"), Reply("billing"))

    result = complete(gateway(fake_openai))

    first, second = fake_openai.received("primary")
    assert result.ok and result.attempts == 2
    # The backoff alone would have waited ~0.01 s: the gap is the server's Retry-After.
    assert second.received_at - first.received_at >= 0.95


def test_a_long_retry_after_hands_over_to_the_fallback(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", then=Fail(429, retry_after="120"))
    fake_openai.script("backup", then=Reply("billing"))

    started = time.monotonic()
    result = complete(gateway(fake_openai, fallback="backup"))

    assert time.monotonic() - started < 5
    assert result.ok and result.model == "openai/backup"
    assert fake_openai.count("primary") == 1
    assert [(f.model, f.kind) for f in result.failures] == [
        ("openai/primary", LLMErrorKind.RATE_LIMITED)
    ]


def test_fallback_model_answers_when_the_primary_is_down(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", then=Fail(500))
    fake_openai.script("backup", then=Reply("from the backup"))

    result = complete(gateway(fake_openai, fallback="backup"))

    assert result.ok and result.text == "from the backup"
    assert result.model == "openai/backup"
    assert fake_openai.count("primary") == 3 and fake_openai.count("backup") == 1
    assert result.attempts == 4


def test_both_models_down_reports_the_last_failure(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", then=Fail(500))
    fake_openai.script("backup", then=Fail(400))

    result = complete(gateway(fake_openai, fallback="backup"))

    assert result.error is LLMErrorKind.INVALID_REQUEST
    assert [f.kind for f in result.failures] == [
        LLMErrorKind.SERVER_ERROR,
        LLMErrorKind.INVALID_REQUEST,
    ]


def test_open_circuit_skips_the_model_without_a_request(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", then=Fail(500))
    breakers = CircuitBreakers(failure_threshold=2, cooldown_s=60)
    no_retry = RetryPolicy(max_retries=0)
    gw = gateway(fake_openai, retry=no_retry, breakers=breakers)

    complete(gw)
    complete(gw)
    assert fake_openai.count("primary") == 2
    third = complete(gw)

    assert third.error is LLMErrorKind.CIRCUIT_OPEN
    assert third.attempts == 0 and fake_openai.count("primary") == 2


def test_open_circuit_goes_straight_to_the_fallback(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", then=Fail(503))
    fake_openai.script("backup", then=Reply("billing"))
    breakers = CircuitBreakers(failure_threshold=3, cooldown_s=60)
    gw = gateway(fake_openai, fallback="backup", breakers=breakers)

    complete(gw)  # three failed attempts open the primary's circuit
    result = complete(gw)

    assert result.ok and result.model == "openai/backup"
    assert fake_openai.count("primary") == 3
    assert result.failures[0].kind is LLMErrorKind.CIRCUIT_OPEN


def test_circuit_closes_when_the_trial_after_cooldown_succeeds(
    fake_openai: FakeOpenAIServer,
) -> None:
    now = [0.0]
    breakers = CircuitBreakers(failure_threshold=1, cooldown_s=30, clock=lambda: now[0])
    gw = gateway(fake_openai, retry=RetryPolicy(max_retries=0), breakers=breakers)
    breaker = breakers.for_endpoint(gw.primary.key)
    fake_openai.script("primary", Fail(500), Reply("billing"))

    assert complete(gw).error is LLMErrorKind.SERVER_ERROR
    assert breaker.state is CircuitState.OPEN
    assert complete(gw).error is LLMErrorKind.CIRCUIT_OPEN
    now[0] = 31.0
    assert complete(gw).ok
    assert breaker.state is CircuitState.CLOSED
    assert fake_openai.count("primary") == 2


def test_unreachable_server_is_a_connection_error() -> None:
    nobody_listens = "http://127.0.0.1:9/v1"
    gw = ModelGateway(
        primary=ModelEndpoint("openai/primary", api_base=nobody_listens, api_key=SecretStr("k")),
        retry=RetryPolicy(max_retries=1, backoff_initial_s=0.01, jitter_s=0),
    )

    result = complete(gw)

    assert result.error is LLMErrorKind.CONNECTION_ERROR
    assert result.attempts == 2


def test_api_key_never_reaches_errors_or_logs(
    fake_openai: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-live-0123456789abcdef"
    fake_openai.script("primary", then=Fail(401, message=f"Incorrect API key provided: {secret}"))
    gw = gateway(fake_openai, key=secret)

    with caplog.at_level(logging.DEBUG):
        result = complete(gw)

    assert result.error is LLMErrorKind.AUTH_ERROR
    assert "Incorrect API key" in (result.error_message or "")
    assert secret not in (result.error_message or "")
    assert secret not in caplog.text
    assert secret not in repr(gw.primary)
    assert fake_openai.received("primary")[0].body["model"] == "primary"


def test_logprobs_are_requested_and_returned(fake_openai: FakeOpenAIServer) -> None:
    tokens = ['{"', "queue", '":"', "billing", '"}']
    fake_openai.script(
        "primary", Reply('{"queue":"billing"}', logprobs=token_logprobs(tokens, {3: [("b", -3.0)]}))
    )

    result = complete(gateway(fake_openai), logprobs=True, top_logprobs=5)

    body = fake_openai.received("primary")[0].body
    assert body["logprobs"] is True and body["top_logprobs"] == 5
    assert result.logprobs is not None
    assert [t.token for t in result.logprobs] == tokens
    assert ("b", -3.0) in result.logprobs[3].top
    assert result.json() == {"queue": "billing"}


def test_cost_comes_from_litellm_prices_for_a_known_model(fake_openai: FakeOpenAIServer) -> None:
    reply = Reply("billing", prompt_tokens=1000, completion_tokens=10)
    fake_openai.script("gpt-4o-mini", then=reply)
    gw = ModelGateway(primary=endpoint(fake_openai, "gpt-4o-mini"), retry=FAST_RETRIES)

    result = complete(gw)

    price = litellm.model_cost["gpt-4o-mini"]
    expected = 1000 * price["input_cost_per_token"] + 10 * price["output_cost_per_token"]
    assert result.cost_usd == pytest.approx(expected)
    assert result.cost_usd > 0
