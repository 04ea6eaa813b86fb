"""A circuit breaker per model, so that a dead provider is skipped without waiting on it.

Closed: calls go through; ``failure_threshold`` consecutive unhealthy attempts (timeouts,
connection errors, 5xx, 429) open it. Open: calls are refused at once until ``cooldown_s``
has passed. Half-open: one trial call goes through (the others are refused); its success
closes the circuit, its failure opens it again for another cooldown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """The health of one model endpoint, shared by every call to it in this process."""

    def __init__(
        self,
        *,
        failure_threshold: int,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self._threshold = failure_threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_started_at: float | None = None

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._state

    def allow(self) -> bool:
        """Whether a call may go to the model now (in half-open: whether it is the trial)."""
        with self._lock:
            now = self._clock()
            if self._state is CircuitState.CLOSED:
                return True
            if self._state is CircuitState.OPEN:
                if now - self._opened_at < self._cooldown_s:
                    return False
                self._state = CircuitState.HALF_OPEN
                self._trial_started_at = now
                return True
            # Half-open: one trial at a time; a trial that never reported back (cancelled)
            # stops blocking others after a cooldown.
            trial = self._trial_started_at
            if trial is not None and now - trial < self._cooldown_s:
                return False
            self._trial_started_at = now
            return True

    def record_success(self) -> None:
        """The model answered: close the circuit."""
        with self._lock:
            self._state = CircuitState.CLOSED
            self._failures = 0
            self._trial_started_at = None

    def record_failure(self) -> None:
        """An unhealthy attempt: open the circuit at the threshold, or when the trial failed."""
        with self._lock:
            self._failures += 1
            if self._state is CircuitState.HALF_OPEN or self._failures >= self._threshold:
                self._state = CircuitState.OPEN
                self._opened_at = self._clock()
                self._trial_started_at = None


class CircuitBreakers:
    """One breaker per endpoint key, created on first use with the same thresholds."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._breakers: dict[str, CircuitBreaker] = {}

    def for_endpoint(self, key: str) -> CircuitBreaker:
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None:
                breaker = CircuitBreaker(
                    failure_threshold=self._threshold,
                    cooldown_s=self._cooldown_s,
                    clock=self._clock,
                )
                self._breakers[key] = breaker
            return breaker


_SHARED: dict[tuple[int, float], CircuitBreakers] = {}
_SHARED_LOCK = threading.Lock()


def shared_breakers(*, failure_threshold: int, cooldown_s: float) -> CircuitBreakers:
    """The process-wide breakers for these thresholds: every gateway to a model shares its
    health, so one agent version's dead provider is skipped by the others too."""
    with _SHARED_LOCK:
        key = (failure_threshold, cooldown_s)
        if key not in _SHARED:
            _SHARED[key] = CircuitBreakers(
                failure_threshold=failure_threshold, cooldown_s=cooldown_s
            )
        return _SHARED[key]
