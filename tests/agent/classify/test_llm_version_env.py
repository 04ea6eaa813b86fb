"""The environment gives an `llm` version its keys and endpoints, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from agent.classify.registry import get_kind
from agent.config import Settings
from agent.graph.state import ResolvedVersion
from agent.services.classifiers import ClassifierRegistry
from agent.version_context import resolve_params, resolve_prompt, resolve_thresholds
from tests.agent.llm_helpers import NEIGHBOURS, TAXONOMY, answer, run
from tests.fakes.openai_server import FakeOpenAIServer, Reply

# Every LLM variable the settings once read, set to values that would change the requests.
HOSTILE_ENV = {
    "TICKETWATCH_LLM_MODEL": "openai/another-model",
    "TICKETWATCH_LLM_FALLBACK_MODEL": "openai/another-fallback",
    "TICKETWATCH_LLM_TEMPERATURE": "1.9",
    "TICKETWATCH_LLM_MAX_TOKENS": "500",
    "TICKETWATCH_LLM_TOP_LOGPROBS": "3",
    "TICKETWATCH_LLM_PROBABILITY_METHOD": "auto",
    "TICKETWATCH_LLM_SAMPLES_K": "9",
    "TICKETWATCH_LLM_SAMPLE_TEMPERATURE": "0.1",
    "TICKETWATCH_LLM_RESPONSE_FORMAT": "none",
    "TICKETWATCH_LLM_SYSTEM_ROLE": "false",
    "TICKETWATCH_LLM_MAX_EXAMPLES": "0",
    "TICKETWATCH_LLM_MAX_RETRIES": "7",
}


def version() -> ResolvedVersion:
    kind = get_kind("llm")
    return ResolvedVersion(
        id="v1",
        semver="1.0.0",
        label="production",
        classifier="llm",
        model="openai/fake-router",
        fallback_model=None,
        prompt_template=resolve_prompt(kind, ""),
        params=resolve_params(kind, {"llm": {"probability_method": "samples", "samples_k": 2}}),
        thresholds=resolve_thresholds({}),
        taxonomy=TAXONOMY,
    )


def requests_sent(server: FakeOpenAIServer, settings: Settings) -> list[dict[str, Any]]:
    server.reset_requests()
    classifier = ClassifierRegistry(settings).for_version(version())
    result = run(
        classifier.classify(text="Charged twice", neighbours=NEIGHBOURS, taxonomy=TAXONOMY)
    )
    assert result.error is None, result.details
    return [r.body for r in server.received()]


def test_llm_variables_in_the_environment_change_nothing(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_openai.script("fake-router", then=Reply(answer("billing", "P3")))
    monkeypatch.setenv("TICKETWATCH_LLM_API_BASE", fake_openai.base_url)  # an endpoint: used
    monkeypatch.setenv("TICKETWATCH_LLM_API_KEY", "sk-test")
    plain = requests_sent(fake_openai, Settings())
    for name, value in HOSTILE_ENV.items():
        monkeypatch.setenv(name, value)
    hostile = requests_sent(fake_openai, Settings())

    assert len(plain) == 3  # the answer and the version's two samples
    assert hostile == plain
    assert {b["model"] for b in plain} == {"fake-router"}
    assert plain[0]["messages"][0]["role"] == "system"
    assert plain[0]["temperature"] == 0.0
