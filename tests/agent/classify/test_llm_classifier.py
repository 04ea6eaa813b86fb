"""The `llm` classifier end to end over HTTP, against the scripted OpenAI-compatible server."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import SecretStr

from agent.classify.base import Classification
from agent.classify.llm import LLMClassifier
from agent.llm import CircuitBreakers, ModelEndpoint, ModelGateway, RetryPolicy
from tests.agent.llm_helpers import NEIGHBOURS, QUEUES, TAXONOMY, answer, answer_logprobs, run
from tests.fakes.openai_server import Fail, FakeOpenAIServer, Reply, token_logprobs


def make_classifier(server: FakeOpenAIServer, **kwargs: Any) -> LLMClassifier:
    gateway = ModelGateway(
        primary=ModelEndpoint("openai/primary", server.base_url, SecretStr("sk-test")),
        timeout_s=kwargs.pop("timeout_s", 5.0),
        retry=RetryPolicy(max_retries=1, backoff_initial_s=0.01, backoff_max_s=0.02, jitter_s=0),
        breakers=CircuitBreakers(failure_threshold=100, cooldown_s=60),
    )
    return LLMClassifier(gateway=gateway, **kwargs)


def classify(classifier: LLMClassifier, text: str = "I paid twice for one order") -> Classification:
    return run(classifier.classify(text=text, neighbours=NEIGHBOURS, taxonomy=TAXONOMY))


def test_logprob_probabilities_sum_to_one_and_favour_the_answer(
    fake_openai: FakeOpenAIServer,
) -> None:
    logprobs = answer_logprobs(
        "bill",
        "ing",
        "2",
        queue_alternatives=[("card", math.log(0.15)), ("unknown", math.log(0.02))],
        priority_alternatives=[("1", math.log(0.1)), ("3", math.log(0.05))],
    )
    fake_openai.script("primary", Reply(answer("billing", "P2"), logprobs=logprobs))

    result = classify(make_classifier(fake_openai))

    assert result.error is None and result.probability_source == "logprobs"
    assert set(result.queue_probs) == set(QUEUES)
    assert set(result.priority_probs) == {"P1", "P2", "P3", "P4"}
    assert sum(result.queue_probs.values()) == pytest.approx(1.0)
    assert sum(result.priority_probs.values()) == pytest.approx(1.0)
    assert (result.queue, result.priority) == ("billing", "P2")
    assert 0.5 < result.queue_probs["billing"] < 1.0
    # 'card' leads to two queues, which split its share.
    assert result.queue_probs["cards"] > 0
    assert result.queue_probs["cards"] == pytest.approx(result.queue_probs["card_fraud"])
    assert (result.prompt_tokens, result.completion_tokens) == (42, 9)
    assert result.model == "openai/primary" and result.latency_ms > 0
    assert fake_openai.count() == 1


def test_request_carries_the_schema_logprobs_and_few_shot_examples(
    fake_openai: FakeOpenAIServer,
) -> None:
    fake_openai.script("primary", Reply(answer("billing", "P3")))  # no logprobs: samples follow
    fake_openai.script("primary", then=Reply(answer("billing", "P3")))

    classify(make_classifier(fake_openai, samples_k=2))

    body = fake_openai.received("primary")[0].body
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["queue"]["enum"] == list(QUEUES)
    assert schema["properties"]["priority"]["enum"] == ["P1", "P2", "P3", "P4"]
    assert body["logprobs"] is True and body["top_logprobs"] == 10
    assert body["temperature"] == 0.0
    contents = [m["content"] for m in body["messages"]]
    assert body["messages"][0]["role"] == "system" and "card_fraud" in contents[0]
    # Neighbours become examples, nearest last; one whose queue left the taxonomy is dropped.
    assert "new card has not arrived" in contents[1] and "charged a fee twice" in contents[3]
    assert contents[4] == answer("billing", "P3")
    assert not any("close my account" in c for c in contents)
    assert contents[-1].endswith("I paid twice for one order")


def test_without_logprobs_probabilities_come_from_k_samples(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script(
        "primary",
        Reply(answer("billing", "P2")),
        Reply(answer("billing", "P2")),
        Reply(answer("cards", "P3")),
        Reply(answer("billing", "P2")),
        Reply(answer("billing", "P1")),
    )

    result = classify(make_classifier(fake_openai, samples_k=4, samples_smoothing=0.4))

    assert result.error is None and result.probability_source == "samples"
    # 4 samples, 0.4 pseudo-samples over 4 queues: (3 + 0.1) / 4.4 for billing.
    assert result.queue_probs == pytest.approx(
        {"billing": 3.1 / 4.4, "cards": 1.1 / 4.4, "card_fraud": 0.1 / 4.4, "unknown": 0.1 / 4.4}
    )
    assert result.priority_probs["P2"] == pytest.approx(2.1 / 4.4)
    assert fake_openai.count() == 5
    samples = fake_openai.received("primary")[1:]
    assert all(s.body["temperature"] == 0.7 and "logprobs" not in s.body for s in samples)
    assert result.prompt_tokens == 5 * 42
    assert result.details["valid_samples"] == 4


def test_invalid_samples_are_left_out_of_the_frequencies(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script(
        "primary",
        Reply(answer("cards", "P3")),
        Reply(answer("cards", "P3")),
        Reply(answer("loans", "P3")),
        Reply("{not json"),
    )

    result = classify(make_classifier(fake_openai, samples_k=3, samples_smoothing=0.0))

    assert result.error is None
    assert result.queue_probs["cards"] == 1.0
    assert result.details["valid_samples"] == 1


def test_samples_method_never_asks_for_logprobs(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", then=Reply(answer("cards", "P4")))

    result = classify(make_classifier(fake_openai, probability_method="samples", samples_k=2))

    assert result.probability_source == "samples"
    assert all("logprobs" not in r.body for r in fake_openai.received())


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "Sure! The queue is billing.",
        answer("refunds", "P2"),  # a queue outside the taxonomy
        answer("Billing", "P2"),  # labels are exact
        answer("billing", "P5"),
        '{"queue": "billing"}',
        '{"queue": ["billing"], "priority": "P2"}',
    ],
)
def test_an_answer_outside_the_taxonomy_is_invalid_output(
    fake_openai: FakeOpenAIServer, content: str
) -> None:
    fake_openai.script("primary", Reply(content))

    result = classify(make_classifier(fake_openai))

    assert result.error == "invalid_output"
    assert result.queue_probs == {} and result.priority_probs == {}
    assert fake_openai.count() == 1  # no retry, no samples of a broken answer


def test_a_provider_failure_is_an_error_not_an_exception(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", then=Fail(503))

    result = classify(make_classifier(fake_openai))

    assert result.error == "server_error"
    assert result.model == "openai/primary"
    assert result.details["attempts"] == 2


def test_a_model_too_slow_is_a_timeout_error(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", then=Reply(answer("cards", "P4"), delay_s=5))

    result = classify(make_classifier(fake_openai, timeout_s=0.2))

    assert result.error == "timeout"
    assert result.latency_ms < 2000


def test_failed_samples_report_their_error(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("primary", Reply(answer("cards", "P4")), then=Fail(500))

    result = classify(make_classifier(fake_openai, samples_k=2))

    assert result.error == "server_error"
    assert result.probability_source == "none"


def test_logprobs_that_do_not_spell_the_answer_fall_back_to_samples(
    fake_openai: FakeOpenAIServer,
) -> None:
    wrong_tokens = token_logprobs(['{"queue": "cards"', ', "priority": "P4"}'])
    fake_openai.script("primary", Reply(answer("billing", "P2"), logprobs=wrong_tokens))
    fake_openai.script("primary", then=Reply(answer("billing", "P2")))

    result = classify(make_classifier(fake_openai, samples_k=2))

    assert result.probability_source == "samples"
    assert result.details["logprobs"] == "unreadable"
    assert fake_openai.count() == 3


def test_the_fallback_model_classifies_when_the_primary_is_down(
    fake_openai: FakeOpenAIServer,
) -> None:
    fake_openai.script("primary", then=Fail(500))
    logprobs = answer_logprobs("card", "s", "4", [("bill", -3.0)], [("3", -2.0)])
    fake_openai.script("backup", Reply(answer("cards", "P4"), logprobs=logprobs))
    gateway = ModelGateway(
        primary=ModelEndpoint("openai/primary", fake_openai.base_url, SecretStr("sk-1")),
        fallback=ModelEndpoint("openai/backup", fake_openai.base_url, SecretStr("sk-2")),
        retry=RetryPolicy(max_retries=0),
    )

    result = classify(LLMClassifier(gateway=gateway))

    assert result.error is None and result.model == "openai/backup"
    assert result.queue == "cards" and result.probability_source == "logprobs"
    assert result.details["failures"] == ["openai/primary: server_error"]
