"""A classification's cost bound, known before its calls: it covers what the calls cost."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agent.classify.base import cost_estimate_usd
from agent.classify.cascade import CascadeClassifier
from agent.classify.knn import KnnClassifier, KnnParams
from agent.classify.llm import LLMClassifier
from agent.classify.prompts import build_messages, response_format
from agent.llm import ModelEndpoint, ModelGateway, RetryPolicy
from agent.llm.pricing import call_cost_bound_usd, prompt_tokens
from tests.agent.llm_helpers import NEIGHBOURS, TAXONOMY, answer, run
from tests.fakes.openai_server import FakeOpenAIServer, Reply

PRIMARY, FALLBACK = "openai/gpt-4o-mini", "openai/gpt-4o"  # LiteLLM prices both
TEXT = "I paid twice for one order"


def classifier(server: FakeOpenAIServer, *, fallback: str | None = None) -> LLMClassifier:
    key = SecretStr("sk-test")
    gateway = ModelGateway(
        primary=ModelEndpoint(PRIMARY, server.base_url, key),
        fallback=ModelEndpoint(fallback, server.base_url, key) if fallback else None,
        retry=RetryPolicy(max_retries=0),
    )
    return LLMClassifier(gateway=gateway, probability_method="samples", samples_k=2, max_tokens=64)


def test_the_estimate_covers_calls_billed_for_the_counted_prompt_and_every_completion_token(
    fake_openai: FakeOpenAIServer,
) -> None:
    llm = classifier(fake_openai)
    messages = build_messages(text=TEXT, neighbours=NEIGHBOURS, taxonomy=TAXONOMY)
    schema = response_format(TAXONOMY, "json_schema")
    billed = prompt_tokens(PRIMARY, messages, schema)
    fake_openai.script(
        "gpt-4o-mini",
        then=Reply(answer("billing", "P2"), prompt_tokens=billed, completion_tokens=64),
    )
    estimate = llm.estimate_cost_usd(text=TEXT, neighbours=NEIGHBOURS, taxonomy=TAXONOMY)
    result = run(llm.classify(text=TEXT, neighbours=NEIGHBOURS, taxonomy=TAXONOMY))

    assert result.error is None and fake_openai.count() == 3  # one answer, two samples
    assert 0 < result.cost_usd <= estimate
    assert estimate < 1.5 * result.cost_usd  # a bound, not a wild overestimate


def test_the_estimate_prices_the_dearer_model_and_a_cascade_holds_the_llms(
    fake_openai: FakeOpenAIServer,
) -> None:
    cheap = classifier(fake_openai).estimate_cost_usd(
        text=TEXT, neighbours=NEIGHBOURS, taxonomy=TAXONOMY
    )
    with_fallback = classifier(fake_openai, fallback=FALLBACK)
    dear = with_fallback.estimate_cost_usd(text=TEXT, neighbours=NEIGHBOURS, taxonomy=TAXONOMY)
    assert dear > 10 * cheap  # gpt-4o's price is ~16x gpt-4o-mini's
    knn = KnnClassifier(KnnParams.from_params({}), None)
    cascade = CascadeClassifier(knn=knn, llm=with_fallback, threshold=0.9)
    assert cascade.estimate_cost_usd(
        text=TEXT, neighbours=NEIGHBOURS, taxonomy=TAXONOMY
    ) == pytest.approx(dear)
    assert cost_estimate_usd(knn, text=TEXT, neighbours=NEIGHBOURS, taxonomy=TAXONOMY) == 0.0


def test_a_model_without_a_price_costs_nothing() -> None:
    messages = [{"role": "user", "content": TEXT}]
    cost = call_cost_bound_usd(
        "hosted_vllm/acme/unpriced-model", messages=messages, response_format=None, max_tokens=64
    )
    assert cost == 0.0
