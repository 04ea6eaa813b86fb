"""Settings of routing, embeddings and the LLM's keys and endpoints."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from agent.settings.defaults import DEFAULT_EMBEDDING_MODEL, default_embedding_threads


class RoutingSettings(BaseModel):
    """Fields of :class:`agent.config.Settings` (environment: ``TICKETWATCH_`` + the name)."""

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

    # --- embeddings ---
    embedding_model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description="`local:all-MiniLM-L6-v2` (onnxruntime, offline) or a LiteLLM embedding "
        "model string; the latter must return 384 dimensions. History is embedded with it; "
        "`versions create` pins it in the version, and a version serves only where it matches.",
    )
    embedding_threads: int = Field(
        default_factory=default_embedding_threads,
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
