"""Prometheus metrics of the agent (served at ``/metrics``).

With several API processes (``ticketwatch serve --workers N``) each process counts for itself;
``serve`` then points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the processes
start, prometheus_client keeps every process's values there, and each scrape, whichever process
answers it, adds them up.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

TICKETS = Counter(
    "ticketwatch_tickets_total", "Tickets routed, by route and mode.", ["routed_to", "mode"]
)
PORTAL_SUBMISSIONS = Counter(
    "ticketwatch_portal_submissions_total",
    "Portal form posts, by outcome: accepted, invalid, honeypot, rate_limited.",
    ["outcome"],
)
INBOX_MESSAGES = Counter(
    "ticketwatch_inbox_messages_total",
    "Mail to the inbox, by outcome: accepted, duplicate, unknown_tenant, rate_limited, "
    "too_big, empty, unreadable, failed; tenant_closed: a polled mail left for later while "
    "its tenant takes none.",
    ["outcome"],
)
DUPLICATES = Counter(
    "ticketwatch_duplicate_submissions_total", "Resubmissions answered with the first decision."
)
DECISION_LATENCY = Histogram(
    "ticketwatch_decision_latency_seconds",
    "From acceptance to the stored decision.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MODEL_LATENCY = Histogram(
    "ticketwatch_model_latency_seconds",
    "Model call latency, by classifier and model.",
    ["classifier", "model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
TOKENS = Counter(
    "ticketwatch_model_tokens_total", "Model tokens, by model and kind.", ["model", "kind"]
)
COST = Counter("ticketwatch_model_cost_usd_total", "Model cost in USD, by model.", ["model"])
FALLBACKS = Counter(
    "ticketwatch_fallbacks_total",
    "Tickets sent to human triage because something failed, by mode.",
    ["mode"],
)
KILL_SWITCH = Gauge(
    "ticketwatch_kill_switch_enabled",
    "1 while a kill switch is on, by key.",
    ["key"],
    # set by whichever process answers the scrape, from the switches' shared state
    multiprocess_mode="mostrecent",
)
QUEUE_DEPTH = Gauge(
    "ticketwatch_queue_depth",
    "Work waiting, by queue: monitor_tasks (Celery tasks no worker has taken), review "
    "(decisions flagged or sampled for review, not yet reviewed).",
    ["queue"],
    # read from Redis and Postgres by whichever process answers the scrape
    multiprocess_mode="mostrecent",
)
RECONCILED = Counter(
    "ticketwatch_reconciled_tickets_total",
    "Tickets finished by the reconciler after an interruption.",
)

HTTP_RESPONSES = Counter(
    "ticketwatch_http_responses_total",
    "API responses, by method, route template and status class (2xx, 4xx, 5xx).",
    ["method", "route", "status"],
)


def observe_decision(
    *,
    routed_to: str,
    mode: str,
    latency_ms: float,
    classifier: str | None,
    model: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: float,
    model_latency_ms: float | None,
) -> None:
    TICKETS.labels(routed_to=routed_to, mode=mode).inc()
    DECISION_LATENCY.observe(latency_ms / 1000)
    if mode in ("fallback", "no_version", "budget"):
        FALLBACKS.labels(mode=mode).inc()
    if model:
        TOKENS.labels(model=model, kind="prompt").inc(prompt_tokens)
        TOKENS.labels(model=model, kind="completion").inc(completion_tokens)
        COST.labels(model=model).inc(cost_usd)
        if model_latency_ms is not None:
            MODEL_LATENCY.labels(classifier=classifier or "", model=model).observe(
                model_latency_ms / 1000
            )


def observe_response(*, method: str, route: str, status: int) -> None:
    HTTP_RESPONSES.labels(method=method, route=route, status=f"{status // 100}xx").inc()


def set_switches(enabled: frozenset[str], known: frozenset[str]) -> None:
    for key in known | enabled:
        KILL_SWITCH.labels(key=key).set(1 if key in enabled else 0)


def set_queue_depth(queue: str, depth: int) -> None:
    QUEUE_DEPTH.labels(queue=queue).set(depth)


def exposition() -> bytes:
    """The metrics in Prometheus' text format: every API process's when there are several."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
