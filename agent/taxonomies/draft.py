"""Drafting a taxonomy from a labelled export (``ticketwatch taxonomy init``).

One queue per label: a slug ``name``, the label kept as ``display_name`` and as the queue's
intent (so the export's rows route to it unchanged), a description drafted from the queue's
most distinctive terms (document frequency in the queue against the other queues), three
representative examples (medoids of the queue's tickets in the embedding space, one per
cluster of a 3-medoid split), and per-queue default priorities from the data when it has
them. Advice: queues with fewer tickets than ``min_examples``, and pairs of queues that a
leave-one-out kNN vote over the embeddings confuses more often than ``confusion_threshold``.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from agent.datasets.export_csv import mapped_rows
from agent.datasets.mapping import IDENTITY_COLUMNS, ExportFormat
from agent.datasets.records import (
    LabelledFileError,
    RowError,
    read_labelled_values,
    row_error,
)
from agent.embed import Embedder
from agent.taxonomies.draft_stats import (
    ConfusablePair,
    confusable_pairs,
    distinctive_terms,
    loo_knn_confusion,
    medoids,
)
from agent.taxonomy import HUMAN_TRIAGE, PRIORITIES, UNKNOWN, Taxonomy

TERMS_IN_DESCRIPTION = 8
EXAMPLE_MAX_CHARS = 240
EMBED_BATCH = 256
KNN_K = 10

DEFAULT_PRIORITIES = [
    ("P1", "Service down, security incident, money or data at risk for many customers.", "1h"),
    ("P2", "One customer blocked, or a deadline at risk; no workaround.", "4h"),
    ("P3", "A question or a problem with a workaround.", "1 business day"),
    ("P4", "Information, feedback, requests that can wait.", "3 business days"),
]


@dataclass(frozen=True)
class DraftTicket:
    """One labelled row of the export: its text, label, priority (if any) and line."""

    text: str
    label: str
    priority: str | None
    line: int


@dataclass(frozen=True)
class QueueAdvice:
    name: str
    label: str
    n: int


@dataclass
class Draft:
    taxonomy: Taxonomy
    sizes: dict[str, int]
    small: list[QueueAdvice] = field(default_factory=list)
    confusable: list[ConfusablePair] = field(default_factory=list)
    embedded: int = 0

    def advice(self, *, min_examples: int, threshold: float) -> list[str]:
        """The advice, one line each (printed, and written as comments atop the file)."""
        lines = [
            f"queue {q.name} ({q.label!r}) has {q.n} ticket(s), fewer than {min_examples}: "
            "too few to learn from; collect more, or merge it into a neighbour"
            for q in self.small
        ]
        lines += [
            f"queues {p.a} and {p.b} look alike to the history: {p.a_as_b:.0%} of {p.a}'s "
            f"tickets vote {p.b}, {p.b_as_a:.0%} the other way (threshold {threshold:.0%}); "
            "merge them, or sharpen their descriptions and expect escalations between them"
            for p in self.confusable
        ]
        return lines


def read_draft_tickets(
    path: Path, export: ExportFormat | None, *, drop_singletons: bool = False
) -> tuple[list[DraftTicket], list[str]]:
    """The labelled rows of ``path`` (a CSV export through ``export``, or a plain labelled
    CSV/JSONL), and notes on what was dropped. A label with a single ticket is an error
    naming its line, unless ``drop_singletons``. Raises ``LabelledFileError``."""
    if path.suffix.lower() == ".csv":
        tickets = _read_csv(path, export or ExportFormat(IDENTITY_COLUMNS))
    else:
        rows = read_labelled_values(path, export=export)
        tickets = [
            DraftTicket(r["text"], r.get("intent") or r["queue"], r.get("priority"), i + 1)
            for i, r in enumerate(rows)
        ]
    counts = Counter(t.label for t in tickets)
    single = {t.label: t.line for t in tickets if counts[t.label] == 1}
    if single and not drop_singletons:
        raise LabelledFileError(
            [
                RowError(
                    path,
                    line,
                    export.column_label("queue") if export else "queue",
                    f"label {label!r} has a single ticket: too few for a queue; fix "
                    "the label, or pass --drop-singletons",
                )
                for label, line in single.items()
            ]
        )
    notes = [f"dropped label {label!r} (one ticket, line {line})" for label, line in single.items()]
    return [t for t in tickets if t.label not in single], notes


def _read_csv(path: Path, export: ExportFormat) -> list[DraftTicket]:
    tickets: list[DraftTicket] = []
    errors: list[RowError] = []
    for line, row in mapped_rows(path, export):
        if isinstance(row, dict):
            tickets.append(DraftTicket(row["text"], row["queue"], row.get("priority"), line))
        else:
            errors.append(row_error(path, row))
    if errors:
        raise LabelledFileError(errors)
    if not tickets:
        raise LabelledFileError([RowError(path, 1, None, "no tickets in the file")])
    return tickets


def slugify(label: str, taken: set[str]) -> str:
    """A queue name for ``label``: lower-case ASCII, ``_`` between words, unique in ``taken``."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_label.lower()).strip("_") or "queue"
    if not slug[0].isalpha():
        slug = f"queue_{slug}"
    if slug in (UNKNOWN, HUMAN_TRIAGE):
        slug = f"{slug}_queue"
    base, n = slug, 2
    while slug in taken:
        slug, n = f"{base}_{n}", n + 1
    taken.add(slug)
    return slug


def sample_per_label(tickets: Sequence[DraftTicket], cap: int, seed: int) -> list[int]:
    """At most ``cap`` tickets of each label (a seeded draw), as indices in file order."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(tickets):
        by_label[t.label].append(i)
    rng = random.Random(seed)
    chosen: list[int] = []
    for members in by_label.values():
        chosen += members if len(members) <= cap else rng.sample(members, cap)
    return sorted(chosen)


def embed_texts(
    embedder: Embedder, texts: Sequence[str], progress: Callable[[int], None] | None
) -> np.ndarray:
    """The texts' unit vectors, in batches, reporting each batch's size to ``progress``."""
    parts = []
    for start in range(0, len(texts), EMBED_BATCH):
        batch = texts[start : start + EMBED_BATCH]
        parts.append(np.asarray(embedder.embed(batch), dtype=np.float32))
        if progress:
            progress(len(batch))
    return np.vstack(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)


def short_example(text: str) -> str:
    """A ticket as a one-line example: whitespace collapsed, cut at a word near the limit."""
    flat = " ".join(text.split())
    if len(flat) <= EXAMPLE_MAX_CHARS:
        return flat
    return flat[:EXAMPLE_MAX_CHARS].rsplit(" ", 1)[0] + " …"


@dataclass(frozen=True)
class DraftOptions:
    name: str
    version: str = "1"
    min_examples: int = 20
    confusion_threshold: float = 0.2
    sample_per_queue: int = 200
    seed: int = 0
    k: int = KNN_K


def draft_taxonomy(
    tickets: Sequence[DraftTicket],
    *,
    embedder: Embedder,
    options: DraftOptions,
    progress: Callable[[int], None] | None = None,
) -> Draft:
    """Draft a taxonomy from labelled ``tickets`` (see the module docstring)."""
    labels = list(dict.fromkeys(t.label for t in tickets))
    taken: set[str] = set()
    slug = {label: slugify(label, taken) for label in labels}
    texts_by_label: dict[str, list[str]] = defaultdict(list)
    for t in tickets:
        texts_by_label[t.label].append(t.text)
    terms = distinctive_terms(texts_by_label, TERMS_IN_DESCRIPTION)
    sample = sample_per_label(tickets, options.sample_per_queue, options.seed)
    vectors = embed_texts(embedder, [tickets[i].text for i in sample], progress)
    label_ix = {label: i for i, label in enumerate(labels)}
    sample_labels = np.array([label_ix[tickets[i].label] for i in sample], dtype=np.int64)
    examples = _examples(tickets, sample, vectors, sample_labels, labels)
    taxonomy = Taxonomy.model_validate(
        {
            "name": options.name,
            "version": options.version,
            "description": _taxonomy_description(len(tickets), len(labels)),
            "queues": [
                _queue(label, slug[label], terms[label], examples[label], texts_by_label[label])
                for label in labels
            ],
            "priorities": [
                {"name": n, "description": d, "target_first_response": r}
                for n, d, r in DEFAULT_PRIORITIES
            ],
            "default_priority": _default_priorities(tickets, slug),
        }
    )
    sizes = {slug[label]: len(texts_by_label[label]) for label in labels}
    confusion = loo_knn_confusion(vectors, sample_labels, len(labels), options.k)
    return Draft(
        taxonomy=taxonomy,
        sizes=sizes,
        small=[
            QueueAdvice(slug[label], label, sizes[slug[label]])
            for label in labels
            if sizes[slug[label]] < options.min_examples
        ],
        confusable=confusable_pairs(
            confusion, [slug[label] for label in labels], options.confusion_threshold
        ),
        embedded=len(sample),
    )


def _examples(
    tickets: Sequence[DraftTicket],
    sample: list[int],
    vectors: np.ndarray,
    sample_labels: np.ndarray,
    labels: list[str],
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for i, label in enumerate(labels):
        members = np.flatnonzero(sample_labels == i)
        picks = medoids(vectors[members])
        out[label] = [short_example(tickets[sample[members[p]]].text) for p in picks]
    return out


def _queue(
    label: str, name: str, terms: list[str], examples: list[str], texts: list[str]
) -> dict[str, object]:
    about = ", ".join(terms) if terms else "no distinctive words found"
    description = (
        f"Tickets the helpdesk routed to {label!r} ({len(texts)} in the export). Their most "
        f"distinctive words: {about}. Drafted by `ticketwatch taxonomy init`: rewrite it to "
        "say what this queue handles and what it does not."
    )
    queue: dict[str, object] = {"name": name}
    if name != label:
        queue["display_name"] = label
    queue.update(description=description, examples=examples, intents=[label])
    return queue


def _taxonomy_description(n_tickets: int, n_queues: int) -> str:
    return (
        f"Drafted by `ticketwatch taxonomy init` from {n_tickets} labelled tickets: "
        f"{n_queues} queues, one per label. Review the descriptions, examples and priorities."
    )


def _default_priorities(tickets: Sequence[DraftTicket], slug: dict[str, str]) -> dict[str, str]:
    """Each queue's most common priority in the export (ties: the more urgent), if any."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for t in tickets:
        if t.priority in PRIORITIES:
            counts[slug[t.label]][t.priority] += 1
    return {queue: min(c, key=lambda p: (-c[p], p)) for queue, c in counts.items() if c}


def write_taxonomy(taxonomy: Taxonomy, path: Path, *, header: Sequence[str] = ()) -> None:
    """Write ``taxonomy`` as YAML that ``load_taxonomy`` reads back equal, with ``header``
    lines as comments on top."""
    body = yaml.safe_dump(
        taxonomy.model_dump(mode="json", exclude_none=True),
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    comments = "".join(f"# {line}\n" for text in header for line in text.splitlines())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(comments + body, encoding="utf-8")
    tmp.replace(path)
