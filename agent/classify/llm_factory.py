"""Building the `llm` classifier from Settings, with an agent version's overrides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.classify.llm import LLMClassifier
from agent.config import Settings
from agent.llm import ModelEndpoint, ModelGateway, RetryPolicy, shared_breakers


class LLMParams(BaseModel):
    """Every tunable of the LLM path. Defaults come from Settings (``llm_<name>``); an agent
    version's params override them by name. API keys are not params: they stay in Settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    api_base: str | None = None
    fallback_model: str | None = None
    fallback_api_base: str | None = None
    timeout_s: float = Field(gt=0)
    total_timeout_s: float = Field(gt=0)
    max_retries: int = Field(ge=0)
    backoff_initial_s: float = Field(ge=0)
    backoff_max_s: float = Field(ge=0)
    max_retry_after_s: float = Field(ge=0)
    circuit_failures: int = Field(ge=1)
    circuit_cooldown_s: float = Field(gt=0)
    temperature: float = Field(ge=0, le=2)
    max_tokens: int = Field(ge=8)
    top_logprobs: int = Field(ge=1, le=20)
    probability_method: Literal["auto", "samples"]
    samples_k: int = Field(ge=1)
    sample_temperature: float = Field(gt=0, le=2)
    samples_smoothing: float = Field(ge=0)
    response_format: Literal["json_schema", "json_object_with_schema", "json_object", "none"]
    system_role: bool
    max_examples: int = Field(ge=0)

    @classmethod
    def from_settings(
        cls, settings: Settings, overrides: Mapping[str, Any] | None = None
    ) -> LLMParams:
        """Settings' values, then ``overrides``; a ``ValueError`` names a bad or unknown key."""
        values = {name: getattr(settings, f"llm_{name}") for name in cls.model_fields}
        values.update(overrides or {})
        if values.get("model") is None:
            raise ValueError("no LLM model: set TICKETWATCH_LLM_MODEL or the version's `model`")
        return cls.model_validate(values)


def build_gateway(params: LLMParams, settings: Settings) -> ModelGateway:
    """The gateway for ``params``; keys from ``settings``; breakers shared in the process."""
    fallback = None
    if params.fallback_model:
        fallback = ModelEndpoint(
            params.fallback_model, params.fallback_api_base, settings.llm_fallback_api_key
        )
    return ModelGateway(
        primary=ModelEndpoint(params.model, params.api_base, settings.llm_api_key),
        fallback=fallback,
        timeout_s=params.timeout_s,
        total_timeout_s=params.total_timeout_s,
        retry=RetryPolicy(
            max_retries=params.max_retries,
            backoff_initial_s=params.backoff_initial_s,
            backoff_max_s=params.backoff_max_s,
            max_retry_after_s=params.max_retry_after_s,
        ),
        breakers=shared_breakers(
            failure_threshold=params.circuit_failures, cooldown_s=params.circuit_cooldown_s
        ),
    )


def build_llm_classifier(
    settings: Settings, overrides: Mapping[str, Any] | None = None
) -> LLMClassifier:
    """The `llm` classifier for the settings, with an agent version's param overrides."""
    params = LLMParams.from_settings(settings, overrides)
    return LLMClassifier(
        gateway=build_gateway(params, settings),
        temperature=params.temperature,
        max_tokens=params.max_tokens,
        top_logprobs=params.top_logprobs,
        probability_method=params.probability_method,
        samples_k=params.samples_k,
        sample_temperature=params.sample_temperature,
        samples_smoothing=params.samples_smoothing,
        response_format=params.response_format,
        system_role=params.system_role,
        max_examples=params.max_examples,
    )
