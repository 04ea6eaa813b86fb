"""A version's content: every default written in, one hash for one content, readable diffs."""

from __future__ import annotations

import dataclasses

from agent.classify.llm_factory import LLMParams
from agent.classify.prompt_template import DEFAULT_TEMPLATE, FewShot
from agent.classify.registry import get_kind
from agent.version_context import (
    VersionContent,
    differences,
    resolve_params,
    resolve_prompt,
    resolve_thresholds,
)


def content(**changes: object) -> VersionContent:
    llm = get_kind("llm")
    base = VersionContent(
        classifier="llm",
        model="openai/m",
        fallback_model=None,
        embedding_model="local:all-MiniLM-L6-v2",
        prompt_template=resolve_prompt(llm, ""),
        params=resolve_params(llm, {"k": 15}),
        thresholds=resolve_thresholds({}),
        taxonomy_hash="t" * 64,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_model_backed_version_holds_every_llm_parameter_and_its_kinds_defaults() -> None:
    params = resolve_params(get_kind("cascade"), {"k": 7, "llm": {"samples_k": 2}})

    assert params["k"] == 7 and params["tau"] == 0.05
    assert params["cascade_threshold"] == 0.8 and params["novel_to_model"] is False
    assert params["llm"] == {**LLMParams.defaults(), "samples_k": 2}
    assert "model" not in params["llm"] and "api_base" not in params["llm"]
    assert "llm" not in resolve_params(get_kind("knn"), {})
    assert resolve_thresholds({"min_confidence": 0.7}) == {
        "min_confidence": 0.7,
        "min_priority_confidence": 0.4,
    }


def test_the_hash_follows_the_content_and_nothing_else() -> None:
    same = content()
    assert same.content_hash() == content().content_hash()
    changed = [
        content(model="openai/other"),
        content(embedding_model="openai/text-embedding-3-small"),
        content(params={**same.params, "llm": {**same.params["llm"], "temperature": 0.1}}),
        content(thresholds={**same.thresholds, "min_confidence": 0.51}),
        content(taxonomy_hash="u" * 64),
        content(
            prompt_template=DEFAULT_TEMPLATE.model_copy(update={"few_shot": FewShot(k=3)}).to_yaml()
        ),
    ]
    hashes = {c.content_hash() for c in changed} | {same.content_hash()}
    assert len(hashes) == len(changed) + 1


def test_differences_name_each_key_and_show_prompt_text_as_a_diff() -> None:
    old = content().document()
    new_prompt = DEFAULT_TEMPLATE.model_copy(update={"user": "Customer wrote:\n{ticket}"})
    new = content(
        prompt_template=new_prompt.to_yaml(),
        params={**content().params, "k": 9},
    ).document()

    found = {d.key: d for d in differences(old, new)}

    assert set(found) == {"params.k", "prompt.user"}
    assert found["params.k"].lines() == ["params.k: 15 → 9"]
    lines = found["prompt.user"].lines()
    assert lines[0] == "prompt.user:" and "  -Ticket:" in lines and "  +Customer wrote:" in lines
    gone = differences({"a": 1}, {"b": 1})
    assert [line for d in gone for line in d.lines()] == ["a: 1 → (absent)", "b: (absent) → 1"]
