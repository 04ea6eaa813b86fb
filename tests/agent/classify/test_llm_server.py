"""The LLM path through a real local model server (llama.cpp, Gemma 3 270M): plumbing only.

The model is tiny and its routes are poor; what is checked is that a classification travels
through LiteLLM to a real server and back with probabilities read from its real logprobs, and
that a version's own prompt file reaches the model (a rule in it changes the answer).
Install the server with scripts/setup-llm-server.sh.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agent.classify.base import Classification
from agent.classify.llm import LLMClassifier, ProbabilityMethod
from agent.classify.registry import get_kind
from agent.config import Settings
from agent.graph.state import ResolvedVersion
from agent.llm import CircuitBreakers, ModelEndpoint, ModelGateway, RetryPolicy
from agent.services.classifiers import ClassifierRegistry
from agent.version_context import resolve_params, resolve_prompt, resolve_thresholds
from tests.agent.llm_helpers import NEIGHBOURS, QUEUES, TAXONOMY, run
from tests.fixtures.llm_server import LocalModelServer

pytestmark = pytest.mark.llm_server


def local_classifier(
    server: LocalModelServer, method: ProbabilityMethod = "auto", samples_k: int = 5
) -> LLMClassifier:
    gateway = ModelGateway(
        primary=ModelEndpoint(server.model, server.base_url, SecretStr("no-key")),
        timeout_s=120,
        total_timeout_s=300,
        retry=RetryPolicy(max_retries=0),
        breakers=CircuitBreakers(),
    )
    return LLMClassifier(
        gateway=gateway,
        response_format="json_object_with_schema",  # llama.cpp turns the schema into a grammar
        system_role=False,  # Gemma's chat template has no system role
        max_tokens=32,
        probability_method=method,
        samples_k=samples_k,
    )


def classify(classifier: LLMClassifier, text: str) -> Classification:
    return run(classifier.classify(text=text, neighbours=NEIGHBOURS, taxonomy=TAXONOMY))


def test_a_classification_carries_probabilities_from_real_logprobs(
    local_model_server: LocalModelServer,
) -> None:
    result = classify(local_classifier(local_model_server), "I was charged twice for one coffee")

    assert result.error is None, result.details
    assert result.probability_source == "logprobs"
    assert set(result.queue_probs) == set(QUEUES)
    assert sum(result.queue_probs.values()) == pytest.approx(1.0)
    assert sum(result.priority_probs.values()) == pytest.approx(1.0)
    # Real logprobs spread the mass: the answer is likely, not certain.
    answer = result.details["answer"]
    assert isinstance(answer, dict)
    assert 0 < result.queue_probs[answer["queue"]] < 1
    assert result.prompt_tokens > 100 and result.completion_tokens > 0
    assert result.latency_ms > 0
    assert result.model == local_model_server.model
    assert result.cost_usd == 0.0  # a local model has no price


def test_samples_from_the_real_server_give_frequencies(
    local_model_server: LocalModelServer,
) -> None:
    classifier = local_classifier(local_model_server, method="samples", samples_k=2)

    result = classify(classifier, "My new card has still not arrived")

    assert result.error is None, result.details
    assert result.probability_source == "samples"
    assert result.details["valid_samples"] == 2
    assert sum(result.queue_probs.values()) == pytest.approx(1.0)


# A version's own prompt, with a rule the built-in prompt does not have.
RULED_PROMPT = """
system: |
  Queues:
  {queues}
  Rule: every ticket goes to card_fraud with priority P1, whatever it says.
  Answer {answer_format}.
user: "{ticket}"
few_shot: {k: 0}
"""


def local_version(server: LocalModelServer, prompt: str, version_id: str) -> ResolvedVersion:
    kind = get_kind("llm")
    llm = {
        "response_format": "json_object_with_schema",
        "system_role": False,
        "max_tokens": 32,
        "max_retries": 0,
        "timeout_s": 120,
        "total_timeout_s": 300,
        # the route is the greedy answer's; one near-greedy extra answer instead of logprobs,
        # which the local server computes slowly (it sorts the vocabulary per answer token)
        "probability_method": "samples",
        "samples_k": 1,
        "sample_temperature": 0.01,
    }
    return ResolvedVersion(
        id=version_id,
        semver="1.0.0",
        label="production",
        classifier="llm",
        model=server.model,
        fallback_model=None,
        prompt_template=resolve_prompt(kind, prompt),
        params=resolve_params(kind, {"llm": llm}),
        thresholds=resolve_thresholds({}),
        taxonomy=TAXONOMY,
    )


def test_a_versions_own_prompt_changes_the_route_the_real_model_gives(
    local_model_server: LocalModelServer,
) -> None:
    """Through the versions' classifiers (as the API builds them): the built-in prompt gets
    P3 for a double charge from Gemma 3 270M at temperature 0; the ruled prompt gets P1."""
    registry = ClassifierRegistry(
        Settings(llm_api_base=local_model_server.base_url, llm_api_key=SecretStr("no-key"))
    )
    text = "I was charged twice for one coffee"
    routes = {}
    for name, prompt in (("plain", ""), ("ruled", RULED_PROMPT)):
        classifier = registry.for_version(local_version(local_model_server, prompt, name))
        result = classify(classifier, text)
        assert result.error is None, result.details
        routes[name] = result.details["answer"]

    assert routes["ruled"]["priority"] == "P1"  # type: ignore[index]
    assert routes["plain"]["priority"] != "P1"  # type: ignore[index]
