"""A mapping from one taxonomy version to the next: which new queue each old queue becomes.

Written as YAML (``ticketwatch taxonomy migrate OLD NEW --map mapping.yaml``)::

    queues:
      card_arrival: cards            # rename, or merge when several old queues share a target
      card_delivery_estimate: cards
      lost_card: null                # dropped: its history is left out of NEW
      transfers:                     # split: the first target whose pattern matches the text
        split:
          international_transfers: {match: ["swift", "abroad"]}
          domestic_transfers: {match: ["sepa"]}
        default: domestic_transfers  # without one, unmatched tickets need a label
      fees: {to: charges, priority: P2}   # a queue's tickets also take a new priority
    priorities: {P4: P3}             # optional: old priority -> new (default: unchanged)

Patterns are Python regular expressions, matched case-insensitively anywhere in the text.
Every queue of OLD must be mapped (or set to ``null``); every target must be a queue of NEW.
Errors name the file and line.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from agent.taxonomy import PRIORITIES, Taxonomy

RENAME, MERGE, SPLIT, SPLIT_DEFAULT, DROPPED, NEEDS_LABEL = (
    "rename",
    "merge",
    "split",
    "split-default",
    "dropped",
    "needs-label",
)


class MappingError(ValueError):
    """The mapping file is malformed or does not fit the two taxonomies."""


@dataclass(frozen=True)
class SplitTarget:
    queue: str
    patterns: tuple[str, ...]

    def matches(self, text: str) -> bool:
        return any(re.search(p, text, re.IGNORECASE) for p in self.patterns)


@dataclass(frozen=True)
class QueueRule:
    """What one old queue becomes: a queue (``to``), a split, or nothing (dropped)."""

    old: str
    to: str | None = None
    split: tuple[SplitTarget, ...] = ()
    default: str | None = None
    priority: str | None = None

    @property
    def dropped(self) -> bool:
        return self.to is None and not self.split

    def targets(self) -> list[str]:
        found = [self.to] if self.to else [s.queue for s in self.split]
        return [*found, *([self.default] if self.default else [])]


@dataclass(frozen=True)
class Relabel:
    """An old route's new one (``queue`` None: dropped or needing a label) and the rule."""

    queue: str | None
    priority: str
    rule: str


@dataclass(frozen=True)
class TaxonomyMapping:
    rules: dict[str, QueueRule]
    priorities: dict[str, str] = field(default_factory=dict)

    def kind(self, old: str) -> str:
        """rename, merge, split or dropped: how the old queue is mapped."""
        rule = self.rules[old]
        if rule.dropped:
            return DROPPED
        if rule.split:
            return SPLIT
        shared = sum(1 for r in self.rules.values() if r.to == rule.to)
        return MERGE if shared > 1 else RENAME

    def unique_target(self, old: str) -> str | None:
        """The new queue of every ticket of ``old``, where there is exactly one (the mapping
        is a function there: rename, merge); None for a split or a dropped queue."""
        rule = self.rules.get(old)
        return rule.to if rule is not None else None

    def relabel(self, queue: str, priority: str, text: str) -> Relabel:
        """The new route of a ticket of old ``queue`` with ``text``."""
        rule = self.rules[queue]
        new_priority = rule.priority or self.priorities.get(priority, priority)
        if rule.dropped:
            return Relabel(None, new_priority, DROPPED)
        if rule.to is not None:
            return Relabel(rule.to, new_priority, self.kind(queue))
        for target in rule.split:
            if target.matches(text):
                return Relabel(target.queue, new_priority, SPLIT)
        if rule.default is not None:
            return Relabel(rule.default, new_priority, SPLIT_DEFAULT)
        return Relabel(None, new_priority, NEEDS_LABEL)

    def describe(self, old: str) -> str:
        """One line for reports: ``a -> b (rename)``."""
        rule = self.rules[old]
        kind = self.kind(old)
        if rule.dropped:
            return f"{old} dropped"
        return f"{old} -> {', '.join(rule.targets())} ({kind})"

    def to_json(self) -> dict[str, Any]:
        return {
            "queues": {
                old: {
                    "to": r.to,
                    "split": {s.queue: list(s.patterns) for s in r.split},
                    "default": r.default,
                    "priority": r.priority,
                }
                for old, r in sorted(self.rules.items())
            },
            "priorities": dict(sorted(self.priorities.items())),
        }

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(self.to_json(), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaxonomyMapping:
        """The mapping as stored with a migration (:meth:`to_json`)."""
        rules = {
            old: QueueRule(
                old=old,
                to=r["to"],
                split=tuple(SplitTarget(q, tuple(p)) for q, p in r["split"].items()),
                default=r["default"],
                priority=r["priority"],
            )
            for old, r in data["queues"].items()
        }
        return cls(rules, dict(data.get("priorities", {})))


def load_mapping(path: Path, *, old: Taxonomy, new: Taxonomy) -> TaxonomyMapping:
    """Read and check a mapping file against the two taxonomies."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from None
    return _Reader(str(path), old, new).read(root)


class _Reader:
    def __init__(self, where: str, old: Taxonomy, new: Taxonomy) -> None:
        self.where, self.old, self.new = where, old, new

    def fail(self, node: Node | None, message: str) -> MappingError:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        return MappingError(f"{self.where}{line}: {message}")

    def pairs(self, node: Node, what: str) -> list[tuple[ScalarNode, Node]]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out = []
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise self.fail(key, f"{what}: keys must be names")
            out.append((key, value))
        return out

    def read(self, root: Node | None) -> TaxonomyMapping:
        if root is None:
            raise self.fail(None, "the mapping is empty: it needs a 'queues:' section")
        sections = {k.value: (k, v) for k, v in self.pairs(root, "the mapping")}
        for name, (key, _) in sections.items():
            if name not in ("queues", "priorities"):
                raise self.fail(key, f"unknown section {name!r} (queues, priorities)")
        if "queues" not in sections:
            raise self.fail(root, "the mapping needs a 'queues:' section")
        rules = self.queues(sections["queues"][1])
        priorities = self.priorities(sections["priorities"][1]) if "priorities" in sections else {}
        return TaxonomyMapping(rules, priorities)

    def queues(self, node: Node) -> dict[str, QueueRule]:
        rules: dict[str, QueueRule] = {}
        for key, value in self.pairs(node, "queues"):
            old = key.value
            if old not in self.old.queue_names:
                raise self.fail(key, f"{old!r} is not a queue of {_name(self.old)}")
            if old in rules:
                raise self.fail(key, f"{old!r} is mapped twice")
            rules[old] = self.rule(old, value)
        missing = [q for q in self.old.queue_names if q not in rules]
        if missing:
            raise self.fail(
                None,
                f"queues of {_name(self.old)} not mapped: {', '.join(missing)} "
                "(map each to a queue of the new taxonomy, or to null to drop it)",
            )
        return rules

    def rule(self, old: str, node: Node) -> QueueRule:
        if isinstance(node, ScalarNode):
            if node.tag.endswith(":null"):
                return QueueRule(old)
            return QueueRule(old, to=self.target(node))
        fields = {k.value: (k, v) for k, v in self.pairs(node, f"queue {old!r}")}
        for name, (key, _) in fields.items():
            if name not in ("to", "split", "default", "priority"):
                raise self.fail(key, f"{old}: unknown key {name!r} (to, split, default, priority)")
        if ("to" in fields) == ("split" in fields):
            raise self.fail(node, f"{old}: give either 'to' or 'split'")
        if "default" in fields and "split" not in fields:
            raise self.fail(fields["default"][0], f"{old}: 'default' belongs to a split")
        priority = self.priority(fields["priority"][1]) if "priority" in fields else None
        default = self.target(fields["default"][1]) if "default" in fields else None
        if "to" in fields:
            return QueueRule(old, to=self.target(fields["to"][1]), priority=priority)
        split = tuple(self.split_target(k, v) for k, v in self.pairs(fields["split"][1], "split"))
        if not split:
            raise self.fail(fields["split"][1], f"{old}: a split needs at least one target")
        return QueueRule(old, split=split, default=default, priority=priority)

    def split_target(self, key: ScalarNode, node: Node) -> SplitTarget:
        queue = self.target(key)
        fields = {k.value: v for k, v in self.pairs(node, f"split target {queue!r}")}
        if set(fields) != {"match"}:
            raise self.fail(node, f"split target {queue!r} needs exactly 'match: [patterns]'")
        match = fields["match"]
        items = match.value if isinstance(match, SequenceNode) else [match]
        patterns = []
        for item in items:
            if not isinstance(item, ScalarNode) or not item.value:
                raise self.fail(item, f"split target {queue!r}: a pattern must be a string")
            try:
                re.compile(item.value)
            except re.error as exc:
                raise self.fail(item, f"pattern {item.value!r} is not valid: {exc}") from None
            patterns.append(item.value)
        return SplitTarget(queue, tuple(patterns))

    def target(self, node: Node) -> str:
        if not isinstance(node, ScalarNode) or node.tag.endswith(":null"):
            raise self.fail(node, "a target must be a queue name")
        if node.value not in self.new.queue_names:
            known = ", ".join(self.new.queue_names[:12])
            more = ", ..." if len(self.new.queue_names) > 12 else ""
            raise self.fail(
                node, f"{node.value!r} is not a queue of {_name(self.new)} ({known}{more})"
            )
        return str(node.value)

    def priority(self, node: Node) -> str:
        if not isinstance(node, ScalarNode) or node.value not in PRIORITIES:
            raise self.fail(node, f"a priority must be one of {', '.join(PRIORITIES)}")
        return str(node.value)

    def priorities(self, node: Node) -> dict[str, str]:
        out = {}
        for key, value in self.pairs(node, "priorities"):
            out[self.priority(key)] = self.priority(value)
        return out


def _name(taxonomy: Taxonomy) -> str:
    return f"{taxonomy.name}@{taxonomy.version}"


def rule_counts(mapping: TaxonomyMapping, relabels: list[tuple[str, Relabel]]) -> Counter[str]:
    """How many tickets each line of the mapping relabelled: ``"a -> b (rename)": n``."""
    counts: Counter[str] = Counter()
    for old, r in relabels:
        if r.rule == NEEDS_LABEL:
            counts[f"{old}: needs a label"] += 1
        elif r.queue is None:
            counts[f"{old} dropped"] += 1
        else:
            counts[f"{old} -> {r.queue} ({r.rule})"] += 1
    return counts
