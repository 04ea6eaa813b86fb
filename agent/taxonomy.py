"""The routing taxonomy: support queues and priority definitions, versioned.

A taxonomy is a YAML file (see ``agent/taxonomies/``). Its content hash identifies it, so an
agent version pins exactly the taxonomy it was evaluated with.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

UNKNOWN = "unknown"
HUMAN_TRIAGE = "human_triage"
PRIORITIES = ("P1", "P2", "P3", "P4")

TAXONOMY_DIR = Path(__file__).parent / "taxonomies"


class QueueDef(BaseModel):
    """A support queue: who works on the ticket."""

    # extra="forbid": a misspelt key in a taxonomy file is an error, not silently dropped
    # (and left out of the content hash).
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    # The helpdesk's own name for the queue, where the slug above is not it.
    display_name: str | None = None
    description: str
    examples: list[str] = Field(default_factory=list)
    # Source labels (e.g. Banking77 intents) that this queue handles.
    intents: list[str] = Field(default_factory=list)


class PriorityDef(BaseModel):
    """A priority level and what earns it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^P[1-4]$")
    description: str
    target_first_response: str


class Taxonomy(BaseModel):
    """Queues, priorities, and the intent → (queue, priority) rules of one version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str
    description: str = ""
    queues: list[QueueDef]
    priorities: list[PriorityDef]
    # intent → priority; intents not listed take the queue's default.
    intent_priority: dict[str, str] = Field(default_factory=dict)
    default_priority: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Taxonomy:
        names = [q.name for q in self.queues]
        if len(set(names)) != len(names):
            raise ValueError("queue names must be unique")
        if UNKNOWN in names or HUMAN_TRIAGE in names:
            raise ValueError(f"'{UNKNOWN}' and '{HUMAN_TRIAGE}' are reserved queue names")
        if sorted(p.name for p in self.priorities) != list(PRIORITIES):
            raise ValueError("priorities must be exactly P1, P2, P3, P4")
        seen: dict[str, str] = {}
        for q in self.queues:
            for intent in q.intents:
                if not intent.strip():
                    raise ValueError(f"queue {q.name} has an empty intent name")
                if intent in seen:
                    raise ValueError(f"intent {intent!r} is in both {seen[intent]} and {q.name}")
                seen[intent] = q.name
        for intent, prio in self.intent_priority.items():
            if intent not in seen:
                raise ValueError(f"intent_priority names unknown intent {intent!r}")
            if prio not in PRIORITIES:
                raise ValueError(f"intent {intent!r} has invalid priority {prio!r}")
        for queue, prio in self.default_priority.items():
            if queue not in names or prio not in PRIORITIES:
                raise ValueError(f"default_priority {queue!r}: {prio!r} is invalid")
        return self

    @cached_property
    def queue_names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.queues)

    @cached_property
    def priority_names(self) -> tuple[str, ...]:
        return PRIORITIES

    @cached_property
    def intents(self) -> tuple[str, ...]:
        """Every source intent label, in queue order."""
        return tuple(i for q in self.queues for i in q.intents)

    @cached_property
    def _intent_queue(self) -> dict[str, str]:
        return {i: q.name for q in self.queues for i in q.intents}

    def queue(self, name: str) -> QueueDef:
        """The definition of queue ``name``."""
        for q in self.queues:
            if q.name == name:
                return q
        raise KeyError(f"queue {name!r} is not in taxonomy {self.name}")

    def priority(self, name: str) -> PriorityDef:
        """The definition of priority ``name`` (P1–P4)."""
        for p in self.priorities:
            if p.name == name:
                return p
        raise KeyError(f"priority {name!r} is not in taxonomy {self.name}")

    @cached_property
    def content_hash(self) -> str:
        # exclude_none: an unset optional field (display_name) leaves the hash as it was.
        canonical = json.dumps(self.model_dump(mode="json", exclude_none=True), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def route_for_intent(self, intent: str) -> tuple[str, str]:
        """The (queue, priority) this taxonomy assigns to a source intent label."""
        try:
            queue = self._intent_queue[intent]
        except KeyError:
            raise KeyError(f"intent {intent!r} is not in taxonomy {self.name}") from None
        priority = self.intent_priority.get(intent) or self.default_priority.get(queue, "P3")
        return queue, priority


def load_taxonomy(path_or_name: str | Path) -> Taxonomy:
    """Load a taxonomy from a YAML path, or by name from the packaged ``taxonomies/``."""
    path = Path(path_or_name)
    if not path.suffix:
        path = TAXONOMY_DIR / f"{path_or_name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"taxonomy file not found: {path}")
    return Taxonomy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
