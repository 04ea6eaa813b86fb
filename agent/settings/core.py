"""Settings of where things live, the services, HTTP, logging, datasets, tracing export and
evals."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr

from agent.settings.defaults import default_data_dir, default_datasets_dir


class CoreSettings(BaseModel):
    """Fields of :class:`agent.config.Settings` (environment: ``TICKETWATCH_`` + the name)."""

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Embedded services' data, cached models, golden sets, reports.",
    )
    datasets_dir: Path = Field(
        default_factory=default_datasets_dir,
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
