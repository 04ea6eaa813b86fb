"""``ticketwatch taxonomy init``: drafting a taxonomy from an export, then loading history
with it through a preset, against the real embedder and Postgres."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
import yaml
from typer.testing import CliRunner

from agent.cli import app
from agent.config import get_settings
from agent.embed import Embedder, get_embedder
from agent.taxonomies.draft import (
    DraftOptions,
    DraftTicket,
    draft_taxonomy,
    slugify,
    write_taxonomy,
)
from agent.taxonomies.draft_stats import distinctive_terms, loo_knn_confusion, medoids
from agent.taxonomy import Taxonomy, load_taxonomy
from tests.agent.datasets.exports import PRESET_NAMES, QUEUES, tickets, write_export
from tests.conftest import Servers
from tests.live import settings_for

runner = CliRunner()


def squash(text: str) -> str:
    """``text`` without whitespace: where the console wrapped a line does not matter."""
    return "".join(text.split())


PER_QUEUE = 25


@pytest.fixture(scope="module")
def embedder(servers: Servers) -> Embedder:
    return get_embedder(
        settings_for(
            database_url="postgresql://x", redis_url="redis://x", data_dir=servers.data_dir
        )
    )


@pytest.fixture
def cli_env(servers: Servers, fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("REDIS_URL", servers.redis_url)
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(servers.data_dir))
    monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
    get_settings.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def test_slugs_are_valid_unique_and_avoid_reserved_names() -> None:
    taken: set[str] = set()
    got = [
        slugify(label, taken)
        for label in (
            "Billing & Payments",
            "Network / VPN",
            "billing payments",
            "Ünïcode",
            "2nd line",
            "human_triage",
            "!!!",
        )
    ]
    assert got == [
        "billing_payments",
        "network_vpn",
        "billing_payments_2",
        "unicode",
        "queue_2nd_line",
        "human_triage_queue",
        "queue",
    ]


def test_distinctive_terms_favour_words_of_the_queue_over_shared_ones() -> None:
    terms = distinctive_terms(
        {
            "a": ["refund the invoice please", "invoice refund again", "account invoice"],
            "b": ["vpn tunnel down account", "vpn slow", "tunnel account broken"],
        },
        n=2,
    )
    assert terms == {"a": ["invoice", "refund"], "b": ["tunnel", "vpn"]}


def test_medoids_are_one_per_cluster_biggest_first() -> None:
    rng = np.random.default_rng(7)
    centres = np.eye(8)[:3]
    sizes = [5, 12, 8]
    points, centre_ix = [], []
    for c, n in zip(centres, sizes, strict=True):
        centre_ix.append(len(points))
        points.append(c)  # the cluster's exact centre is its medoid
        points += list(c + 0.05 * rng.standard_normal((n - 1, 8)))
    vectors = np.asarray(points)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert medoids(vectors) == [centre_ix[1], centre_ix[2], centre_ix[0]]
    assert medoids(vectors[:2]) == [0, 1]


def test_leave_one_out_confusion_finds_the_overlapping_pair() -> None:
    rng = np.random.default_rng(3)
    # labels 0 and 1 share one cluster; label 2 has its own.
    shared = np.eye(6)[0] + 0.05 * rng.standard_normal((40, 6))
    apart = np.eye(6)[1] + 0.05 * rng.standard_normal((20, 6))
    vectors = np.vstack([shared, apart])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.array([0, 1] * 20 + [2] * 20)
    confusion = loo_knn_confusion(vectors, labels, 3, k=5)
    assert confusion.sum(axis=1) == pytest.approx([1, 1, 1])
    # Random labels on one cluster: each way ~50%; 0.25 leaves a margin of about 3.5
    # standard deviations over 20 tickets (and the seed is fixed).
    assert confusion[0, 1] > 0.25 and confusion[1, 0] > 0.25
    assert confusion[2, 2] == 1.0 and confusion[0, 2] == confusion[1, 2] == 0.0


def _drafted(embedder: Embedder, tickets_: list[DraftTicket], **kw: object) -> Taxonomy:
    options = DraftOptions(name="it", **kw)  # type: ignore[arg-type]
    return draft_taxonomy(tickets_, embedder=embedder, options=options).taxonomy


def test_the_draft_advises_on_small_and_look_alike_queues(
    embedder: Embedder, tmp_path: Path
) -> None:
    rows = tickets("freshdesk", per_queue=20, seed=5)
    data = [
        DraftTicket(f"{t.subject}. {t.description}", t.label, t.priority, i + 2)
        for i, t in enumerate(rows)
    ]
    # A second label for the billing tickets, drawn from the same texts: the history cannot
    # tell the two apart. A small queue: six tickets.
    billing = [t for t in data if t.label == "Billing & Payments"]
    data += [DraftTicket(t.text, "Invoices", t.priority, 100 + i) for i, t in enumerate(billing)]
    data += [
        DraftTicket(f"Office {i} coffee machine broken again", "Facilities", "P4", 200 + i)
        for i in range(6)
    ]
    draft = draft_taxonomy(
        data, embedder=embedder, options=DraftOptions(name="it", min_examples=10)
    )
    assert [(q.name, q.n) for q in draft.small] == [("facilities", 6)]
    pairs = {(p.a, p.b) for p in draft.confusable}
    # Identical texts under two labels: ~50% each way, far above the 20% threshold; the
    # four generated queues share no vocabulary (measured 0% confusion between them).
    assert pairs == {("billing_payments", "invoices")}
    advice = draft.advice(min_examples=10, threshold=0.2)
    assert any("facilities" in a and "fewer than 10" in a for a in advice)
    assert any("billing_payments and invoices look alike" in a for a in advice)
    path = tmp_path / "t.yaml"
    write_taxonomy(draft.taxonomy, path, header=advice)
    assert load_taxonomy(path) == draft.taxonomy


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_init_then_load_history_with_the_preset(preset: str, tmp_path: Path, cli_env: str) -> None:
    rows = tickets(preset, per_queue=PER_QUEUE, seed=11)
    export = write_export(tmp_path / f"{preset}-export.csv", preset, rows)
    out = tmp_path / "taxonomy.yaml"
    tz = ["--timezone", "UTC"]
    result = runner.invoke(
        app, ["taxonomy", "init", str(export), "--out", str(out), "--preset", preset, *tz]
    )
    assert result.exit_code == 0, result.output
    assert "embedding tickets: 100/100" in result.output  # progress lines, not a terminal

    taxonomy = load_taxonomy(out)
    assert yaml.safe_load(out.read_text())["queues"][0]["name"] == "billing_payments"
    assert [(q.name, q.display_name, q.intents) for q in taxonomy.queues] == [
        ("billing_payments", "Billing & Payments", ["Billing & Payments"]),
        ("network_vpn", "Network / VPN", ["Network / VPN"]),
        ("access_management", "Access Management", ["Access Management"]),
        ("hardware", "Hardware", ["Hardware"]),
    ]
    by_label = {t.label: [] for t in rows}  # type: dict[str, list[str]]
    for t in rows:
        by_label[t.label].append(" ".join(f"{t.subject}\n{t.description}".split()))
    for queue, (label, _) in zip(taxonomy.queues, QUEUES.items(), strict=True):
        assert len(queue.examples) == 3 and len(set(queue.examples)) >= 2
        own = (
            by_label[label]
            if preset != "zendesk"
            else [" ".join(t.subject.split()) for t in rows if t.label == label]
        )
        assert set(queue.examples) <= set(own)
        assert "most distinctive words" in queue.description
    # Priorities drawn uniformly: each queue's default is its most common one in the file.
    for queue in taxonomy.queues:
        counts = dict.fromkeys(("P1", "P2", "P3", "P4"), 0)
        for t in rows:
            if t.label == queue.display_name:
                counts[t.priority] += 1
        top = max(counts.values())
        assert taxonomy.default_priority[queue.name] == min(
            p for p, c in counts.items() if c == top
        )
    assert "words:" in taxonomy.queues[0].description

    result = runner.invoke(
        app, ["load-history", str(export), "--taxonomy", str(out), "--preset", preset, *tz]
    )
    assert result.exit_code == 0, result.output
    with psycopg.connect(cli_env) as conn:
        loaded = conn.execute(
            "SELECT t.external_id, o.queue, o.priority, t.received_at, t.body FROM tickets t "
            "JOIN outcomes o ON o.ticket_id = t.id ORDER BY t.received_at"
        ).fetchall()
    slug = {q.display_name: q.name for q in taxonomy.queues}
    assert [(r[0], r[1], r[2]) for r in loaded] == [(t.id, slug[t.label], t.priority) for t in rows]
    minutes = [r[3].replace(second=0) for r in loaded]
    assert minutes == [t.created.replace(second=0) for t in rows]


def test_init_refuses_a_label_with_one_ticket_and_bad_options(tmp_path: Path, cli_env: str) -> None:
    rows = tickets("zendesk", per_queue=4, seed=2)
    export = write_export(tmp_path / "z.csv", "zendesk", rows)
    text = export.read_text(encoding="utf-8-sig") + "9999,x,Lonely one,Solved,Low,Lonely,,\n"
    export.write_text(text, encoding="utf-8")
    out = tmp_path / "t.yaml"
    args = ["taxonomy", "init", str(export), "--out", str(out), "--preset", "zendesk"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    # The console wraps long lines anywhere, a long temporary path included.
    assert squash(f"{export}:18: column 'Group': label 'Lonely' has a single ticket") in squash(
        result.output
    )
    assert not out.exists()
    result = runner.invoke(app, [*args, "--drop-singletons", "--min-examples", "5"])
    assert result.exit_code == 0, result.output
    assert "dropped label 'Lonely'" in result.output
    assert "advice: queue billing_payments" in " ".join(result.output.split())
    assert [q.name for q in load_taxonomy(out).queues] == [
        "billing_payments",
        "network_vpn",
        "access_management",
        "hardware",
    ]
    result = runner.invoke(app, [*args, "--drop-singletons"])
    assert result.exit_code == 2 and "exists; pass --force" in result.output
    result = runner.invoke(app, [*args, "--force", "--priority-map", "Meh=P7"])
    assert result.exit_code == 2 and "maps to 'P7'" in result.output


def test_a_failed_load_leaves_the_history_empty(tmp_path: Path, cli_env: str) -> None:
    rows = tickets("jira", per_queue=3, seed=4)
    export = write_export(tmp_path / "j.csv", "jira", rows)
    # The packaged taxonomy knows none of these labels: every row is refused, none loaded.
    result = runner.invoke(
        app,
        [
            "load-history",
            str(export),
            "--taxonomy",
            "banking77",
            "--preset",
            "jira",
            "--timezone",
            "UTC",
        ],
    )
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert squash(f"{export}:2: column 'Component/s': unknown queue 'Billing & Payments'") in (
        squash(result.output)
    )
    assert "12 problem(s)" in flat and "Traceback" not in result.output
    with psycopg.connect(cli_env) as conn:
        assert conn.execute("SELECT count(*) FROM tickets").fetchone() == (0,)


def test_an_unset_display_name_leaves_existing_taxonomy_hashes_as_they_were() -> None:
    banking = load_taxonomy("banking77")
    before = banking.model_dump(mode="json")
    for queue in before["queues"]:
        assert queue.pop("display_name") is None  # the field added for drafted taxonomies
    canonical = json.dumps(before, sort_keys=True)
    assert banking.content_hash == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    named = Taxonomy.model_validate(
        {
            **banking.model_dump(),
            "queues": [
                {**banking.queues[0].model_dump(), "display_name": "Cards"},
                *[q.model_dump() for q in banking.queues[1:]],
            ],
        }
    )
    assert named.content_hash != banking.content_hash
