"""Building the `llm` classifier from an agent version; Settings give only keys and endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.classify.llm import LLMClassifier
from agent.classify.prompt_template import DEFAULT_TEMPLATE, PromptTemplate
from agent.config import Settings
from agent.llm import ModelEndpoint, ModelGateway, RetryPolicy, shared_breakers

ENDPOINT_PARAMS = ("api_base", "fallback_api_base")


class LLMParams(BaseModel):
    """Every tunable of the LLM path, as an agent version stores it (``params["llm"]``, with
    its ``model`` and ``fallback_model``). The defaults here are what ``versions create``
    writes into a new version; at run time nothing comes from the environment but the keys
    and, unless the version pins them, the endpoints (``api_base``, ``fallback_api_base``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    api_base: str | None = None
    fallback_model: str | None = None
    fallback_api_base: str | None = None
    timeout_s: float = Field(default=20.0, gt=0)
    total_timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    backoff_initial_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=8.0, ge=0)
    max_retry_after_s: float = Field(default=30.0, ge=0)
    circuit_failures: int = Field(default=5, ge=1)
    circuit_cooldown_s: float = Field(default=30.0, gt=0)
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=64, ge=8)
    top_logprobs: int = Field(default=10, ge=1, le=20)
    probability_method: Literal["auto", "samples"] = "auto"
    samples_k: int = Field(default=5, ge=1)
    sample_temperature: float = Field(default=0.7, gt=0, le=2)
    samples_smoothing: float = Field(default=0.5, ge=0)
    response_format: Literal["json_schema", "json_object_with_schema", "json_object", "none"] = (
        "json_schema"
    )
    system_role: bool = True

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The stored tunables a new version starts from (no models, no endpoints)."""
        skip = {"model", "fallback_model", *ENDPOINT_PARAMS}
        return {n: f.default for n, f in cls.model_fields.items() if n not in skip}

    @classmethod
    def for_version(
        cls,
        settings: Settings,
        version_params: Mapping[str, Any],
        *,
        model: str | None,
        fallback_model: str | None,
    ) -> LLMParams:
        """A version's tunables; endpoints from ``settings`` where the version pins none.
        A ``ValueError`` names a bad or unknown key."""
        if not model:
            raise ValueError("no LLM model: a model-backed version must pin its `model`")
        values: dict[str, Any] = {
            "api_base": settings.llm_api_base,
            "fallback_api_base": settings.llm_fallback_api_base,
        }
        values.update(version_params)
        values.update(model=model, fallback_model=fallback_model)
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
    settings: Settings,
    params: LLMParams,
    prompt: PromptTemplate = DEFAULT_TEMPLATE,
) -> LLMClassifier:
    """The `llm` classifier of a version's ``params`` and ``prompt``; keys from ``settings``."""
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
        prompt=prompt,
    )
