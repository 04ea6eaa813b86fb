"""The one settings object. Nothing else in the project reads ``os.environ``."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EMBEDDING_MODEL = "local:all-MiniLM-L6-v2"


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("ticketwatch", appauthor=False))


def _default_embedding_threads() -> int:
    # Half the cores, at most 8: MiniLM gains little beyond that, and the API process shares
    # the machine with Postgres, Redis and the workers.
    return max(1, min(8, (os.cpu_count() or 2) // 2))


def _default_datasets_dir() -> Path:
    # A development checkout keeps the public datasets beside it in ../shared/data;
    # an installed copy keeps them (fetched on first use) under the data directory.
    beside_checkout = REPO_ROOT.parent / "shared" / "data"
    if beside_checkout.is_dir():
        return beside_checkout
    return _default_data_dir() / "datasets"


class Settings(BaseSettings):
    """Every setting, with its environment variable. See the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="TICKETWATCH_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Embedded services' data, cached models, golden sets, reports.",
    )
    datasets_dir: Path = Field(
        default_factory=_default_datasets_dir,
        description="Public datasets (Banking77). Read here; never copied into the project.",
    )

    # --- services ----------------------------------------------------------------------
    database_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "TICKETWATCH_DATABASE_URL"),
        description="Postgres with pgvector. Unset: an embedded server is started.",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "TICKETWATCH_REDIS_URL"),
        description="Redis. Unset: an embedded server is started.",
    )
    embedded_autostart: bool = Field(
        default=True,
        description="Start the embedded services when a URL is unset and they are not running.",
    )
    embedded_postgres_options: str = Field(
        default="",
        description="Extra server options for the embedded Postgres, e.g. '-c work_mem=64MB'.",
    )
    db_pool_size: int = Field(default=10, ge=1, description="Connections per process pool.")
    db_wait_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="Longest a request waits for a database connection before answering 503.",
    )
    db_statement_timeout_ms: int = Field(
        default=15_000, ge=100, description="Postgres statement_timeout for every session."
    )

    # --- HTTP --------------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", description="Address `ticketwatch serve` binds.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `ticketwatch serve` binds.")
    max_ticket_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Request bodies above this size get 413."
    )

    # --- routing -----------------------------------------------------------------------
    review_sample_rate: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="Share of confident decisions sampled for human review (unbiased estimates).",
    )
    reconcile_interval_s: float = Field(
        default=15.0,
        gt=0,
        description="How often the API finishes tickets left without a decision by a crash.",
    )
    reconcile_after_s: float = Field(
        default=30.0,
        gt=0,
        description="A ticket without a final decision this long after acceptance is routed "
        "again by the reconciler (longer than the slowest model call with its retries).",
    )
    budget_warn_fraction: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Share of a tenant's monthly model budget at which operators are alerted.",
    )
    budget_degrade_fraction: float = Field(
        default=0.95,
        gt=0,
        le=1,
        description="Share of the budget from which a version's cheaper fallback model serves.",
    )
    budget_reservation_ttl_s: float = Field(
        default=300.0,
        gt=0,
        description="How long a model call's budget hold counts when nothing settles it (the "
        "process crashed); longer than a classification's model calls with their retries.",
    )
    shadow_monthly_budget_usd: float | None = Field(
        default=None,
        ge=0,
        description="Monthly model budget of each version's shadow runs and attribution "
        "replays (its own, never a tenant's); once spent, they stop until the month ends. "
        "Unset: unlimited.",
    )
    canary_auto_rollback: bool = Field(
        default=False,
        description="Guarded rollout: beat runs `versions compare canary --auto` every "
        "`canary_guard_interval_s`, so a canary judged 'roll back' stops itself (audited).",
    )
    canary_guard_interval_s: int = Field(
        default=300, ge=10, description="How often the guarded rollout judges the canary."
    )
    shadow_max_per_minute: int = Field(
        default=0,
        ge=0,
        description="Most shadow runs started per minute, all workers together (0: no limit); "
        "tickets over it are not shadowed.",
    )

    # --- logging -----------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of every process."
    )
    log_json: bool = Field(default=False, description="JSON log lines (for log shippers).")

    # --- datasets ---
    banking77_url: str = Field(
        default=(
            "https://raw.githubusercontent.com/PolyAI-LDN/task-specific-datasets/"
            "57ec275d8078af65b7731c2a98be812d844a6d6b/banking_data"
        ),
        description=(
            "Where Banking77 is fetched from on first use when it is not in datasets_dir "
            "(a mirror must serve the same files: their SHA-256 digests are checked)."
        ),
    )

    # --- embeddings ---
    embedding_model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description="`local:all-MiniLM-L6-v2` (onnxruntime, offline) or a LiteLLM embedding "
        "model string; the latter must return 384 dimensions. History is embedded with it; "
        "`versions create` pins it in the version, and a version serves only where it matches.",
    )
    embedding_threads: int = Field(
        default_factory=_default_embedding_threads,
        ge=0,
        description="onnxruntime intra-op threads of the local embedder; 0 = its default.",
    )
    load_workers: int = Field(
        default=0,
        ge=0,
        description="Embedding workers of `load-history` (one single-threaded model run each, "
        "up to ~0.5 GB for long tickets); 0 = one per core, at most 8.",
    )
    embedding_batch_max: int = Field(
        default=64, ge=1, description="Most texts the API's micro-batcher embeds in one run."
    )
    embedding_batch_wait_ms: float = Field(
        default=2.0, ge=0, description="Longest a text waits for others to join its batch."
    )

    # --- LLM ---------------------------------------------------------------------------
    # Only keys and endpoints: every other LLM parameter (models, timeouts, retries,
    # temperatures, probability method, prompt) is part of the agent version
    # (agent.classify.llm_factory.LLMParams, docs/versions.md), so the environment cannot
    # change how a version behaves.
    llm_api_base: str | None = Field(
        default=None,
        description="Base URL of a version's model where the version pins none "
        "(e.g. http://127.0.0.1:8080/v1 for an OpenAI-compatible server).",
    )
    llm_api_key: SecretStr | None = Field(
        default=None, description="API key of a version's model. Unset: the provider's env var."
    )
    llm_fallback_api_base: str | None = Field(
        default=None, description="Base URL of a version's fallback model (where it pins none)."
    )
    llm_fallback_api_key: SecretStr | None = Field(
        default=None, description="API key of a version's fallback model."
    )

    # --- tracing export ---------------------------------------------------------------
    langfuse_public_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("LANGFUSE_PUBLIC_KEY"),
        description="Langfuse project public key. With the secret key set, traces are exported.",
    )
    langfuse_secret_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("LANGFUSE_SECRET_KEY"),
        description="Langfuse project secret key.",
    )
    langfuse_host: str = Field(
        default="https://cloud.langfuse.com",
        validation_alias=AliasChoices("LANGFUSE_HOST", "LANGFUSE_BASE_URL"),
        description="Langfuse server (self-hosted or cloud).",
    )
    langfuse_sample_rate: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        validation_alias=AliasChoices("LANGFUSE_SAMPLE_RATE", "TICKETWATCH_LANGFUSE_SAMPLE_RATE"),
        description="Share of ticket traces exported to Langfuse (deterministic by trace id).",
    )
    langfuse_environment: str | None = Field(
        default=None,
        validation_alias=AliasChoices("LANGFUSE_TRACING_ENVIRONMENT"),
        description="Environment label on exported traces (e.g. production, staging).",
    )

    # --- review UI ---
    session_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs the UI's session cookies. Unset: generated once and kept "
        "in <data_dir>/session_secret (mode 0600); every API process must share it.",
    )
    session_https_only: bool = Field(
        default=False,
        description="Always mark the session cookie Secure. Unset, it is Secure whenever the "
        "request came over HTTPS (directly, or X-Forwarded-Proto from a trusted proxy).",
    )
    session_max_age_s: int = Field(
        default=12 * 3600, ge=60, description="A UI login lasts this long, then asks again."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins per username (and client) per window."
    )
    login_max_failures_per_ip: int = Field(
        default=30, ge=1, description="Failed logins per client address per window."
    )
    login_window_s: int = Field(
        default=900, ge=1, description="Window of the login rate limit, in seconds."
    )
    portal_max_submissions_per_ip: int = Field(
        default=10, ge=1, description="Portal form posts one client address may make per window."
    )
    portal_window_s: int = Field(
        default=3600, ge=1, description="Window of the portal's per-address limit, in seconds."
    )
    portal_status_link_max_age_days: int = Field(
        default=90,
        ge=1,
        description="A ticket's private status link (portal answer, email acknowledgement) "
        "works this many days after it was issued.",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL of the portal as people reach it, for links sent by mail (e.g. "
        "https://support.example.com). Unset: http://<host>:<port>.",
    )

    # --- email inbox (`ticketwatch inbox`) ---
    inbox_host: str = Field(default="127.0.0.1", description="Address the SMTP inbox binds.")
    inbox_port: int = Field(default=8025, ge=1, le=65535, description="Port the SMTP inbox binds.")
    inbox_domain: str | None = Field(
        default=None,
        description="Mail domain of the inbox: it accepts <tenant-slug>@<domain>. Unset: any "
        "domain (the local part names the tenant).",
    )
    inbox_max_message_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Larger messages are refused with SMTP 552 (attachments included).",
    )
    inbox_max_messages_per_sender: int = Field(
        default=10, ge=1, description="Messages one sender address may send per window."
    )
    inbox_max_messages_per_client: int = Field(
        default=60, ge=1, description="Messages one SMTP client address may send per window."
    )
    inbox_window_s: int = Field(
        default=3600, ge=1, description="Window of the inbox's per-sender and per-client limits."
    )
    inbox_imap_poll_s: float = Field(
        default=30.0, gt=0, description="How often `ticketwatch inbox --imap` polls the mailbox."
    )
    inbox_imap_password: SecretStr | None = Field(
        default=None,
        description="Password of the mailbox `ticketwatch inbox --imap URL` polls, where the URL "
        "has none (never logged).",
    )
    inbox_relay_host: str | None = Field(
        default=None,
        description="SMTP relay that sends acknowledgements. Unset: no acknowledgements.",
    )
    inbox_relay_port: int = Field(default=587, ge=1, le=65535, description="Port of the relay.")
    inbox_relay_tls: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="How to reach the relay: STARTTLS, TLS from the start (465), or plain.",
    )
    inbox_relay_username: str | None = Field(
        default=None, description="Relay login. Unset: no authentication."
    )
    inbox_relay_password: SecretStr | None = Field(
        default=None, description="Relay password (never logged)."
    )
    inbox_ack_from: str | None = Field(
        default=None,
        description="From address of acknowledgements. Unset: the address the person wrote to.",
    )
    review_page_size: int = Field(
        default=50, ge=5, le=500, description="Rows per page of the review queue and audit log."
    )

    # --- evals ---
    eval_concurrency: int = Field(
        default=16, ge=1, description="Golden cases an eval runs through the graph at once."
    )
    eval_ece_bins: int = Field(
        default=10, ge=2, le=100, description="Equal-width confidence bins of the eval's ECE."
    )
    eval_gate_max_relative_drop: float = Field(
        default=0.03,
        ge=0,
        lt=1,
        description="`eval gate` fails when a candidate scores more than this share (relative) "
        "below the baseline, overall or in a large enough segment.",
    )
    eval_gate_min_segment_cases: int = Field(
        default=30,
        ge=1,
        description="Golden cases a segment needs before `eval gate` compares it on its own.",
    )

    # --- monitor ---
    monitor_window_sizes: str = Field(
        default="15m,1h,24h",
        description="Rolling windows the monitor computes, aligned to the clock (s, m, h, d).",
    )
    monitor_segments: str = Field(
        default="queue,priority,channel,tenant",
        description="Segment kinds watched besides the whole stream (`all`): queue, priority "
        "(both as predicted), channel and tenant (`tenant:<slug>`); empty: the whole stream "
        "only.",
    )
    monitor_min_tickets: int = Field(
        default=50,
        ge=1,
        description="A window (or segment) with fewer tickets is reported as insufficient, "
        "never as drift.",
    )
    monitor_window_max_tickets: int = Field(
        default=20_000,
        ge=100,
        description="Above this, a window is a deterministic uniform sample of its tickets.",
    )
    monitor_window_grace_s: float = Field(
        default=30.0,
        ge=0,
        description="Beat waits this long after a window closes before computing it.",
    )
    monitor_label_horizons: str = Field(
        default="1h,24h,7d",
        description="When, after a window closes, it is judged again on the labels (helpdesk "
        "outcomes, reviews) that arrived since; a past window that proves wrong opens an alert.",
    )
    monitor_false_alarm_period: str = Field(
        default="30d",
        description="Target false-alarm rate: one false alert per this period for the whole "
        "deployment (every segment, window size and the sequential layer; docs/monitor.md "
        "splits it); thresholds come from the reference at each stream's share.",
    )
    monitor_evidence_groups: str = Field(
        default="label_mix,embedding,novelty,confidence,disagreement",
        description="Signal groups whose signals add up to the evidence score that opens alerts "
        "(ops: latency and errors follow the load and have their own Prometheus metrics).",
    )
    monitor_open_after: int = Field(
        default=1,
        ge=1,
        description="Warning windows in a row that open an alert (a critical one opens at once).",
    )
    monitor_clear_after: int = Field(
        default=3, ge=1, description="Clean windows in a row that resolve an open alert."
    )
    monitor_reference_period: str = Field(
        default="7d",
        description="Length of a traffic reference: a version's first period of traffic, or "
        "the period before `monitor rebaseline`.",
    )
    monitor_reference_min_tickets: int = Field(
        default=500, ge=50, description="Decisions a traffic reference needs."
    )
    monitor_reference_max_tickets: int = Field(
        default=10_000,
        ge=100,
        description="Larger references are a deterministic uniform sample of this size.",
    )
    monitor_calibration_replicates: int = Field(
        default=200,
        ge=100,
        description="Bootstrap replicates per calibration (cached per reference, segment and "
        "bucket of tickets per window).",
    )
    monitor_attribution_max_tickets: int = Field(
        default=200,
        ge=0,
        description="When a production alert opens, up to this many labelled tickets of its "
        "window are replayed through the previous production version to tell a drifted world "
        "from a regressed change; 0: no attribution.",
    )
    monitor_attribution_min_labelled: int = Field(
        default=20,
        ge=1,
        description="Fewer labelled tickets in the alert's window: the attribution is "
        "`insufficient`.",
    )
    monitor_attribution_alpha: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="Level of the attribution's exact McNemar test (previous vs current version).",
    )
    monitor_webhook_url: str | None = Field(
        default=None, description="Alerts are POSTed here as JSON. Unset: no webhook."
    )
    monitor_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Key of the X-Ticketwatch-Signature header (HMAC-SHA256 of timestamp.body).",
    )
    monitor_webhook_timeout_s: float = Field(
        default=5.0, gt=0, description="Timeout of one webhook request."
    )
    monitor_webhook_max_attempts: int = Field(
        default=6, ge=1, description="Webhook attempts before giving up (each one recorded)."
    )
    monitor_webhook_backoff_s: float = Field(
        default=2.0, gt=0, description="Delay before the second attempt; doubles each time."
    )
    monitor_action_kill_switch: Literal["off", "segment", "global"] = Field(
        default="off",
        description="Opt-in: on an alert, turn on the kill switch of its segment (segment "
        "alerts only) or the global one. Audited with actor `monitor`.",
    )
    monitor_action_boost_review_rate: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Opt-in: on a segment alert, sample this share of the segment for review.",
    )
    monitor_action_min_severity: Literal["warning", "critical"] = Field(
        default="critical", description="Alerts at or above this severity trigger the actions."
    )
    monitor_auto_release: bool = Field(
        default=False,
        description="Turn a switch or boost the monitor set back off when its alert resolves "
        "(off: only a person switches back).",
    )
    monitor_requeue_after_s: float = Field(
        default=600.0,
        gt=0,
        description="A window scheduled this long ago that still has segments with no rows is "
        "scheduled again (its task died with a killed worker; the broker would return it only "
        "after an hour). Longer than a busy worker's backlog: a recompute is harmless but wasted.",
    )
    monitor_worker_concurrency: int = Field(
        default=2, ge=1, description="Tasks `ticketwatch worker` runs at once (threads)."
    )
    monitor_metrics_port: int = Field(
        default=9808,
        ge=0,
        le=65535,
        description="Port where `ticketwatch worker` serves Prometheus metrics; 0: none.",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def env_names(name: str) -> list[str]:
    """The environment variables that set field ``name``."""
    field = Settings.model_fields[name]
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(a) for a in alias.choices]
    if isinstance(alias, str):
        return [alias]
    return [f"TICKETWATCH_{name.upper()}"]


def settings_reference() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting, in declaration order."""
    rows = []
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = "(computed)"
        elif field.default is None:
            default = "unset"
        else:
            default = f"`{field.default}`"
        envs = " / ".join(f"`{e}`" for e in env_names(name))
        rows.append((envs, default, field.description or ""))
    return rows
