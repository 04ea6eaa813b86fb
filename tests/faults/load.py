"""Steady load from a client that retries as the API documents it.

The client's contract (README, "API"; docs/reliability.md): a ticket is identified by its
``(source, external_id)``, so resending the same body is safe: a resubmission answers ``200``
with the first decision and never makes a second ticket. The client resends on no answer
(connection refused or reset, a timeout), on ``503`` and ``429`` after ``Retry-After``, and on
any other 5xx with exponential backoff, until a deadline; a ``201`` or ``200`` ends it.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

BODIES = (
    "My card payment was declined at the supermarket",
    "The transfer to my landlord has been pending for three days",
    "I forgot my passcode and cannot log in",
    "Why was I charged a fee for a cash withdrawal?",
    "My new card has not arrived yet",
    "How do I top up my account with a bank transfer?",
)
RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class Submission:
    """One ticket as the client saw it."""

    external_id: str
    sent_at: float  # time.monotonic() of the first attempt
    attempts: int = 0
    statuses: list[int | str] = field(default_factory=list)
    answered_at: float | None = None  # the first 201/200
    answer: dict[str, object] | None = None

    @property
    def accepted(self) -> bool:
        return self.answer is not None


@dataclass
class RetryPolicy:
    request_timeout_s: float = 30.0
    give_up_after_s: float = 180.0
    backoff_initial_s: float = 0.25
    backoff_max_s: float = 4.0

    def wait_s(self, attempt: int, response: httpx.Response | None) -> float:
        retry_after = response.headers.get("Retry-After") if response is not None else None
        if retry_after is not None and retry_after.isdigit():
            return float(retry_after)
        return min(self.backoff_max_s, self.backoff_initial_s * 2 ** (attempt - 1))


def submit(
    client: httpx.Client, sub: Submission, payload: dict[str, object], policy: RetryPolicy
) -> Submission:
    """Send one ticket until it is answered or the deadline passes."""
    while time.monotonic() - sub.sent_at < policy.give_up_after_s:
        sub.attempts += 1
        response: httpx.Response | None = None
        try:
            response = client.post("/v1/tickets", json=payload, timeout=policy.request_timeout_s)
            sub.statuses.append(response.status_code)
        except httpx.HTTPError as exc:
            sub.statuses.append(type(exc).__name__)
        if response is not None and response.status_code in (200, 201):
            sub.answered_at, sub.answer = time.monotonic(), response.json()
            return sub
        if response is not None and response.status_code not in RETRYABLE:
            return sub  # the client's own mistake: retrying the same body cannot help
        time.sleep(policy.wait_s(sub.attempts, response))
    return sub


class SteadyLoad:
    """``rate`` new tickets a second, each sent on its own thread by the retrying client."""

    def __init__(
        self, url: str, api_key: str, *, source: str, rate: float, policy: RetryPolicy | None = None
    ) -> None:
        self.source, self.rate = source, rate
        self.policy = policy or RetryPolicy()
        self.submissions: list[Submission] = []
        self._client = httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {api_key}"},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=8),
        )
        self._pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="load")
        self._futures: list[Future[Submission]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> SteadyLoad:
        self._thread.start()
        return self

    def _run(self) -> None:
        started, n = time.monotonic(), 0
        while not self._stop.is_set():
            self._send(n)
            n += 1
            self._stop.wait(max(0.0, started + n / self.rate - time.monotonic()))

    def _send(self, n: int) -> None:
        sub = Submission(external_id=uuid.uuid4().hex, sent_at=time.monotonic())
        payload = {
            "source": self.source,
            "external_id": sub.external_id,
            "body": f"{BODIES[n % len(BODIES)]} (ref {n})",
            "channel": "web",
        }
        self.submissions.append(sub)
        self._futures.append(self._pool.submit(submit, self._client, sub, payload, self.policy))

    def stop(self) -> list[Submission]:
        """Stop sending new tickets; wait until every ticket sent is answered or given up."""
        self._stop.set()
        self._thread.join()
        for future in self._futures:
            future.result()
        self._pool.shutdown()
        self._client.close()
        return self.submissions

    def answered_since(self, t: float) -> list[Submission]:
        """Tickets answered after ``t`` (monotonic), in the order they were answered."""
        done = [s for s in list(self.submissions) if s.answered_at and s.answered_at >= t]
        return sorted(done, key=lambda s: s.answered_at or 0.0)
