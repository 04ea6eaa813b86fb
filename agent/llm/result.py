"""What a model call returns: the answer or a typed error, and what it cost."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agent.llm.errors import LLMErrorKind


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token, its log-probability, and the most likely alternatives there."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class ModelFailure:
    """Why one model (after its retries) gave no answer."""

    model: str
    kind: LLMErrorKind
    attempts: int


@dataclass(slots=True)
class LLMResult:
    """The outcome of one gateway call, over the primary model and the fallback.

    ``model`` is the model that answered (or the last one tried); ``attempts`` counts requests
    over both; ``latency_ms`` is the whole call, retries and waits included; ``error`` is set
    when no model answered, with ``failures`` saying what each model did.
    """

    text: str | None = None
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    attempts: int = 0
    finish_reason: str | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None
    error: LLMErrorKind | None = None
    error_message: str | None = None
    failures: list[ModelFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def json(self) -> Any:
        """The answer parsed as JSON; ``ValueError`` when there is none or it is not JSON."""
        if self.text is None:
            raise ValueError("no answer text")
        return json.loads(self.text)
