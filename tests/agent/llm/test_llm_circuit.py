"""Circuit breaker states and Retry-After parsing, on a hand-driven clock."""

from __future__ import annotations

import email.utils

import pytest

from agent.llm import CircuitBreaker, CircuitState
from agent.llm.errors import parse_retry_after, redact


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=threshold, cooldown_s=10, clock=clock)


def test_opens_after_consecutive_failures_only() -> None:
    clock = Clock()
    b = breaker(clock)
    b.record_failure()
    b.record_failure()
    b.record_success()  # resets the count
    b.record_failure()
    b.record_failure()
    assert b.state is CircuitState.CLOSED and b.allow()
    b.record_failure()
    assert b.state is CircuitState.OPEN and not b.allow()


def test_half_open_lets_one_trial_through_after_the_cooldown() -> None:
    clock = Clock()
    b = breaker(clock, threshold=1)
    b.record_failure()
    clock.now = 9.9
    assert not b.allow()
    clock.now = 10.0
    assert b.allow() and b.state is CircuitState.HALF_OPEN
    assert not b.allow()  # a second caller while the trial runs
    b.record_success()
    assert b.state is CircuitState.CLOSED and b.allow()


def test_a_failed_trial_opens_the_circuit_for_another_cooldown() -> None:
    clock = Clock()
    b = breaker(clock, threshold=2)
    b.record_failure()
    b.record_failure()
    clock.now = 10.0
    assert b.allow()
    b.record_failure()
    assert b.state is CircuitState.OPEN
    clock.now = 19.0
    assert not b.allow()
    clock.now = 20.0
    assert b.allow()


def test_a_trial_that_never_reports_stops_blocking_after_a_cooldown() -> None:
    clock = Clock()
    b = breaker(clock, threshold=1)
    b.record_failure()
    clock.now = 10.0
    assert b.allow()  # the trial's caller is cancelled and never reports
    clock.now = 15.0
    assert not b.allow()
    clock.now = 20.0
    assert b.allow()


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_in_seconds_or_milliseconds(
    headers: dict[str, str], seconds: float | None
) -> None:
    assert parse_retry_after(headers) == seconds


def test_retry_after_as_an_http_date() -> None:
    header = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after({"Retry-After": header}, now=1_000_000) == pytest.approx(30)


def test_redact_removes_secrets_and_caps_length() -> None:
    assert redact("key sk-abc failed", ["sk-abc", ""]) == "key *** failed"
    assert len(redact("x" * 1000, [])) == 300
