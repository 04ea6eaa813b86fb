"""The `llm` classifier: a LiteLLM model routes the ticket, with calibrated-to-the-model
class probabilities from token logprobs, or from k samples where the provider gives none.

The answer is held to the taxonomy twice: by the JSON schema sent as ``response_format``
(where the provider supports one) and by validation here. A label outside the taxonomy is an
``invalid_output`` error, never a route. Model failures come back as errors, not exceptions.
See ``label_probs`` for how probabilities are read and ``docs/llm.md`` for the setup.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.classify.answer import InvalidAnswer, RouteAnswer, parse_answer
from agent.classify.base import Classification, Neighbour
from agent.classify.label_probs import label_distribution, sample_distribution
from agent.classify.prompt_template import DEFAULT_TEMPLATE, PromptTemplate
from agent.classify.prompts import ResponseFormatMode, build_messages, queue_labels
from agent.classify.prompts import response_format as make_response_format
from agent.llm import LLMErrorKind, LLMResult, ModelGateway
from agent.llm.pricing import call_cost_bound_usd
from agent.taxonomy import Taxonomy

ProbabilityMethod = Literal["auto", "samples"]


@dataclass
class _Spend:
    """Tokens and cost over every call made for one classification."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    attempts: int = 0

    def add(self, result: LLMResult) -> None:
        self.prompt_tokens += result.prompt_tokens
        self.completion_tokens += result.completion_tokens
        self.cost_usd += result.cost_usd
        self.calls += 1
        self.attempts += result.attempts


@dataclass
class _Outcome:
    queue_probs: dict[str, float] = field(default_factory=dict)
    priority_probs: dict[str, float] = field(default_factory=dict)
    source: str = "logprobs"
    error: str | None = None
    error_message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class LLMClassifier:
    """Routes a ticket with one model call (plus ``samples_k`` more without logprobs)."""

    name = "llm"

    def __init__(
        self,
        *,
        gateway: ModelGateway,
        temperature: float = 0.0,
        max_tokens: int = 64,
        top_logprobs: int = 10,
        probability_method: ProbabilityMethod = "auto",
        samples_k: int = 5,
        sample_temperature: float = 0.7,
        samples_smoothing: float = 0.5,
        response_format: ResponseFormatMode = "json_schema",
        system_role: bool = True,
        prompt: PromptTemplate = DEFAULT_TEMPLATE,
    ) -> None:
        if samples_k < 1:
            raise ValueError("samples_k must be at least 1")
        self.gateway = gateway
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.top_logprobs = top_logprobs
        self.probability_method = probability_method
        self.samples_k = samples_k
        self.sample_temperature = sample_temperature
        self.samples_smoothing = samples_smoothing
        self.response_format = response_format
        self.system_role = system_role
        self.prompt = prompt

    async def classify(
        self, *, text: str, neighbours: list[Neighbour], taxonomy: Taxonomy
    ) -> Classification:
        started = time.monotonic()
        messages = build_messages(
            text=text,
            neighbours=neighbours,
            taxonomy=taxonomy,
            template=self.prompt,
            system_role=self.system_role,
        )
        spend = _Spend()
        first = await self._ask(messages, taxonomy, self.temperature, self._wants_logprobs)
        spend.add(first)
        outcome = await self._outcome(first, messages, taxonomy, spend)
        return Classification(
            classifier=self.name,
            queue_probs=outcome.queue_probs,
            priority_probs=outcome.priority_probs,
            model=first.model,
            prompt_tokens=spend.prompt_tokens,
            completion_tokens=spend.completion_tokens,
            cost_usd=spend.cost_usd,
            latency_ms=(time.monotonic() - started) * 1000,
            error=outcome.error,
            probability_source=outcome.source,
            details={
                **outcome.details,
                "calls": spend.calls,
                "attempts": spend.attempts,
                "failures": [f"{f.model}: {f.kind}" for f in first.failures],
                **({"error_message": outcome.error_message} if outcome.error_message else {}),
            },
        )

    def estimate_cost_usd(
        self, *, text: str, neighbours: list[Neighbour], taxonomy: Taxonomy
    ) -> float:
        """The most :meth:`classify` may cost, before any call: the dearer of the primary and
        fallback models, for every call it may make (the first, then ``samples_k`` samples
        when the method is ``samples`` or the provider gives no logprobs)."""
        messages = build_messages(
            text=text,
            neighbours=neighbours,
            taxonomy=taxonomy,
            template=self.prompt,
            system_role=self.system_role,
        )
        schema = make_response_format(taxonomy, self.response_format)
        models = [e.model for e in (self.gateway.primary, self.gateway.fallback) if e]
        per_call = max(
            call_cost_bound_usd(
                m, messages=messages, response_format=schema, max_tokens=self.max_tokens
            )
            for m in models
        )
        return per_call * (1 + self.samples_k)

    @property
    def _wants_logprobs(self) -> bool:
        return self.probability_method == "auto"

    async def _ask(
        self, messages: list[dict[str, str]], taxonomy: Taxonomy, temperature: float, logprobs: bool
    ) -> LLMResult:
        return await self.gateway.complete(
            messages=messages,
            response_format=make_response_format(taxonomy, self.response_format),
            temperature=temperature,
            max_tokens=self.max_tokens,
            logprobs=logprobs,
            top_logprobs=self.top_logprobs if logprobs else None,
        )

    async def _outcome(
        self, first: LLMResult, messages: list[dict[str, str]], taxonomy: Taxonomy, spend: _Spend
    ) -> _Outcome:
        if not first.ok:
            return _failed(first.error or LLMErrorKind.PROVIDER_ERROR, first.error_message)
        try:
            answer = parse_answer(first.text, taxonomy)
        except InvalidAnswer as exc:
            return _failed(LLMErrorKind.INVALID_OUTPUT, str(exc))
        details: dict[str, Any] = {"answer": answer.model_dump()}
        if self._wants_logprobs:
            read = _from_logprobs(first, taxonomy)
            if read is not None:
                read.details.update(details)
                return read
            details["logprobs"] = "missing" if first.logprobs is None else "unreadable"
        sampled = await self._from_samples(messages, taxonomy, spend)
        sampled.details.update(details)
        return sampled

    async def _from_samples(
        self, messages: list[dict[str, str]], taxonomy: Taxonomy, spend: _Spend
    ) -> _Outcome:
        results = await asyncio.gather(
            *(
                self._ask(messages, taxonomy, self.sample_temperature, logprobs=False)
                for _ in range(self.samples_k)
            )
        )
        answers: list[RouteAnswer] = []
        for result in results:
            spend.add(result)
            if result.ok:
                try:
                    answers.append(parse_answer(result.text, taxonomy))
                except InvalidAnswer:
                    pass
        if not answers:
            errors = [r.error for r in results if r.error is not None]
            kind = errors[0] if errors else LLMErrorKind.INVALID_OUTPUT
            return _failed(kind, "no sample gave a valid answer")
        return _Outcome(
            queue_probs=self._smoothed([a.queue for a in answers], queue_labels(taxonomy)),
            priority_probs=self._smoothed([a.priority for a in answers], taxonomy.priority_names),
            source="samples",
            details={"samples": self.samples_k, "valid_samples": len(answers)},
        )

    def _smoothed(self, answers: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
        return sample_distribution(answers, labels, self.samples_smoothing)


def _from_logprobs(result: LLMResult, taxonomy: Taxonomy) -> _Outcome | None:
    if result.logprobs is None or result.text is None:
        return None
    try:
        queues = label_distribution(result.logprobs, result.text, "queue", queue_labels(taxonomy))
        priorities = label_distribution(
            result.logprobs, result.text, "priority", taxonomy.priority_names
        )
    except (ArithmeticError, ValueError):  # nonsense logprobs (e.g. positive, huge)
        return None
    if queues is None or priorities is None:
        return None
    return _Outcome(queue_probs=queues, priority_probs=priorities, source="logprobs")


def _failed(kind: LLMErrorKind, message: str | None) -> _Outcome:
    """No route: the decision step sends the ticket to human triage."""
    return _Outcome(source="none", error=str(kind), error_message=message)
