"""An agent version's whole execution context as one document: resolved, hashed, compared.

A version stores every value it runs with, defaults included, so that neither the environment
nor a later change of a code default alters what it does. Its content hash covers what decides
a route: classifier, models, prompt, params, thresholds, embedding model and taxonomy; not its
name (semver), author or rationale, which say who and why, not what.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from agent.classify.knn import KnnParams
from agent.classify.prompt_template import PromptTemplate, parse_prompt
from agent.classify.registry import ClassifierKind
from agent.routing import DEFAULT_MIN_CONFIDENCE, DEFAULT_MIN_PRIORITY_CONFIDENCE

# Whose outcomes a version retrieves (``params.history_scope``): ``shared``, the whole pool;
# ``tenant``, only the ticket's own tenant's (docs/versions.md, "History scope").
HISTORY_SCOPES = ("shared", "tenant")
DEFAULT_HISTORY_SCOPE = "shared"

THRESHOLD_DEFAULTS = {
    "min_confidence": DEFAULT_MIN_CONFIDENCE,
    "min_priority_confidence": DEFAULT_MIN_PRIORITY_CONFIDENCE,
}


def resolve_params(kind: ClassifierKind, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with every default written in: the knn vote's, the kind's own, and for a
    model-backed kind the LLM's (``params["llm"]``) and ``novel_to_model``; and the
    ``history_scope``."""
    from agent.classify.llm_factory import LLMParams

    resolved = {
        **KnnParams().to_params(),
        **dict(kind.defaults),
        "history_scope": DEFAULT_HISTORY_SCOPE,
        **params,
    }
    if resolved["history_scope"] not in HISTORY_SCOPES:
        raise ValueError(
            f"history_scope {resolved['history_scope']!r} is not one of {', '.join(HISTORY_SCOPES)}"
        )
    if not kind.model_backed and params.get("llm"):
        raise ValueError(f"the {kind.name} classifier calls no model: it takes no llm params")
    if kind.model_backed:
        resolved.setdefault("novel_to_model", False)
        resolved["llm"] = {**LLMParams.defaults(), **params.get("llm", {})}
    return resolved


def history_scope(params: dict[str, Any]) -> str:
    """A stored version's history scope (versions created before it existed: ``shared``)."""
    return str(params.get("history_scope", DEFAULT_HISTORY_SCOPE))


def resolve_thresholds(thresholds: dict[str, Any]) -> dict[str, Any]:
    return {**THRESHOLD_DEFAULTS, **thresholds}


def resolve_prompt(kind: ClassifierKind, prompt_text: str) -> str:
    """The canonical stored prompt: the file's (or the default) for a model-backed kind."""
    if not kind.model_backed:
        if prompt_text.strip():
            raise ValueError(f"the {kind.name} classifier calls no model: it takes no prompt")
        return ""
    return parse_prompt(prompt_text).to_yaml()


@dataclass(frozen=True, slots=True)
class VersionContent:
    """What a version runs with (the hashed part), as stored."""

    classifier: str
    model: str | None
    fallback_model: str | None
    embedding_model: str
    prompt_template: str
    params: dict[str, Any]
    thresholds: dict[str, Any]
    taxonomy_hash: str

    def document(self) -> dict[str, Any]:
        """The content as plain data; the prompt parsed (so a diff reads key by key)."""
        prompt: PromptTemplate | None = (
            parse_prompt(self.prompt_template) if self.prompt_template else None
        )
        return {
            "classifier": self.classifier,
            "model": self.model,
            "fallback_model": self.fallback_model,
            "embedding_model": self.embedding_model,
            "prompt": prompt.model_dump(mode="json") if prompt else None,
            "params": self.params,
            "thresholds": self.thresholds,
            "taxonomy_hash": self.taxonomy_hash,
        }

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`document`."""
        canonical = json.dumps(self.document(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as ``a.b.c`` keys (lists and scalars are leaves)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


@dataclass(frozen=True, slots=True)
class Difference:
    key: str
    old: Any
    new: Any

    def lines(self) -> list[str]:
        """Readable lines: ``key: old → new``, or a unified diff for multi-line text."""
        if isinstance(self.old, str) and isinstance(self.new, str) and "\n" in self.old + self.new:
            diff = difflib.unified_diff(
                self.old.splitlines(), self.new.splitlines(), lineterm="", n=1
            )
            return [f"{self.key}:", *(f"  {line}" for line in list(diff)[2:])]
        return [f"{self.key}: {_show(self.old)} → {_show(self.new)}"]


_MISSING = object()


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[Difference]:
    """Every flattened key whose value differs (absent on one side shows as ``(absent)``)."""
    a, b = flatten(old), flatten(new)
    found = []
    for key in sorted(a.keys() | b.keys()):
        va, vb = a.get(key, _MISSING), b.get(key, _MISSING)
        if va != vb:
            found.append(Difference(key, va, vb))
    return found


def _show(value: Any) -> str:
    return "(absent)" if value is _MISSING else json.dumps(value, ensure_ascii=False)
