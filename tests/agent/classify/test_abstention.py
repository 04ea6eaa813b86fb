"""Abstention against real Postgres and the real API: the novelty gate fitted on held-out
history, tickets unlike it sent to humans as ``novel``, and the edge cases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from agent.api.app import create_app
from agent.classify.abstention import RoutingTarget
from agent.cli import app as cli_app
from agent.config import Settings, get_settings
from agent.datasets.banking77 import labelled_records
from agent.datasets.records import LabelledTicket
from agent.embed import Embedder
from agent.services.calibration import calibrate_version
from agent.services.history_loader import load_history
from agent.taxonomy import load_taxonomy
from tests.conftest import Servers
from tests.dbutil import create_database, drop_database, unique_name
from tests.factories import stratified
from tests.live import ServerThread, set_up_agent, settings_for

TAX = load_taxonomy("banking77")
OUT_OF_SCOPE = "What is a good recipe for a spinach lasagna for eight people?"


@pytest.fixture(scope="module")
def history() -> list[LabelledTicket]:
    return stratified(labelled_records("train", TAX), 25)


@pytest.fixture(scope="module")
def in_scope() -> list[LabelledTicket]:
    return labelled_records("test", TAX)[::77][:40]


def _settings(servers: Servers, url: str) -> Settings:
    return settings_for(database_url=url, redis_url=servers.redis_url, data_dir=servers.data_dir)


@dataclass(frozen=True)
class Api:
    url: str
    key: str
    database_url: str

    def route(self, body: str) -> dict[str, object]:
        with httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.key}"}
        ) as client:
            r = client.post(
                "/v1/tickets",
                json={"source": "tests", "external_id": uuid.uuid4().hex, "body": body},
            )
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]


def _api(
    servers: Servers, template_db: str, history: list[LabelledTicket], embedder: Embedder
) -> Iterator[Api]:
    name = unique_name("tw_abstain")
    create_database(servers.postgres_url, name, template=template_db)
    settings = _settings(servers, servers.database(name))
    try:
        setup = set_up_agent(settings, history, embedder, gate=True)
        with ServerThread(create_app(settings, plugins=False)) as server:
            yield Api(server.url, setup.api_key, servers.database(name))
    finally:
        drop_database(servers.postgres_url, name)


@pytest.fixture(scope="module")
def gated_api(servers, template_db, history, embedder) -> Iterator[Api]:
    yield from _api(servers, template_db, history, embedder)


@pytest.fixture(scope="module")
def empty_api(servers, template_db, embedder) -> Iterator[Api]:
    yield from _api(servers, template_db, [], embedder)


def test_versions_store_a_calibrated_gate_fitted_on_held_out_history(
    fresh_db_url, history, embedder
):
    load_history(fresh_db_url, history, source="history:tests", embedder=embedder)
    fitted = calibrate_version(fresh_db_url, TAX, target=RoutingTarget(target_accuracy=0.8))
    gate = fitted.abstention.gate
    thresholds = fitted.thresholds(0.5)
    # history this small cannot simulate novelty: the version falls back to
    # nearest_disagreement and says so, in its thresholds and in the warnings
    fallback = thresholds["novelty"]["score_fallback"]
    assert gate.score == "nearest_disagreement" and gate.model is None
    assert fallback.startswith("learned novelty score not fitted, nearest_disagreement used")
    assert gate.calibrated and gate.n == len(history) and fitted.warnings == [fallback]
    assert list(gate.calibration) == sorted(gate.calibration) and gate.calibration[0] > 0
    assert thresholds["novelty"]["alpha"] == 0.05
    selective = thresholds["selective"]
    assert thresholds["min_confidence"] == selective["min_confidence"]
    assert selective["method"] == "target_accuracy" and selective["accuracy"] >= 0.8


def test_history_loaded_twice_does_not_make_fresh_tickets_novel(
    fresh_db_url, history, in_scope, embedder
):
    for source in ("history:first", "history:again"):
        load_history(fresh_db_url, history, source=source, embedder=embedder)
    gate = calibrate_version(fresh_db_url, TAX, target=RoutingTarget()).abstention.gate
    assert gate.calibration[0] > 0  # every held-out ticket's own copy was left out
    from agent.services.calibration import held_out_history

    cases = held_out_history(fresh_db_url, n=40, k=15)
    assert all(n.distance > 1e-6 for c in cases for n in c.neighbours)
    with psycopg.connect(fresh_db_url) as conn:
        copies = conn.execute("SELECT count(*) - count(DISTINCT body) FROM tickets").fetchone()
    assert copies == (len(history),)
    vectors = embedder.embed([r.text for r in in_scope])
    with psycopg.connect(fresh_db_url) as conn:
        from pgvector.psycopg import register_vector

        from agent.classify.base import Neighbour

        register_vector(conn)
        novel = 0
        for v in vectors:
            rows = conn.execute(
                "SELECT queue, priority, embedding <=> %s FROM outcomes "
                "ORDER BY embedding <=> %s LIMIT 15",
                (v, v),
            ).fetchall()
            near = [Neighbour("h", "", q, p, float(d)) for q, p, d in rows]
            novel += gate.judge(near).novel
    # ~5% expected; copies left in would make nearly all 40 novel. P(>= 12 of 40 at 5%) < 1e-5.
    assert novel < 12


def test_a_ticket_unlike_the_history_goes_to_humans_as_novel_with_its_p_value(gated_api):
    route = gated_api.route(OUT_OF_SCOPE)
    assert (route["routed_to"], route["mode"]) == ("human_triage", "novel")
    assert "p-value" in str(route["reason"])
    with psycopg.connect(gated_api.database_url) as conn:
        queue, probs = conn.execute(
            "SELECT queue, queue_probs FROM decisions WHERE ticket_id = %s",
            (route["ticket_id"],),
        ).fetchone()
        spans = conn.execute(
            "SELECT name, output FROM trace_spans WHERE ticket_id = %s ORDER BY started_at, id",
            (route["ticket_id"],),
        ).fetchall()
    assert queue == "unknown" and probs["unknown"] > 0.5  # the monitor's unknown rate sees it
    gate = dict(spans)["gate"]
    assert gate["novel"] is True and gate["p_value"] < 0.05
    assert [s[0] for s in spans] == [
        "guard",
        "version",
        "embed",
        "retrieve",
        "gate",
        "classify",
        "decide",
        "record",
    ]


def test_a_familiar_ticket_is_routed_to_its_queue(gated_api):
    route = gated_api.route("My card has not arrived yet, when will it be delivered?")
    assert route["mode"] in ("agent", "low_confidence")
    assert route["queue"] == "card_orders"


def test_with_no_history_every_ticket_is_novel_and_says_why(empty_api):
    route = empty_api.route("My card has not arrived yet")
    assert (route["routed_to"], route["mode"]) == ("human_triage", "novel")
    assert "no history" in str(route["reason"])


def test_versions_create_on_thin_history_warns_naming_what_is_missing(
    servers, fresh_db_url, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("REDIS_URL", servers.redis_url)
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(servers.data_dir))
    monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["versions", "create", "1.0.0"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "novelty gate uncalibrated: needs 50 held-out tickets (have 0)" in result.output
    with psycopg.connect(fresh_db_url) as conn:
        (thresholds,) = conn.execute("SELECT thresholds FROM agent_versions").fetchone()
    assert thresholds["novelty"]["calibrated"] is False


class AlwaysCardOrders:
    """A stand-in for a model-backed classifier: sure of one queue whatever the ticket."""

    name = "llm"

    def __init__(self) -> None:
        self.calls = 0

    async def classify(self, *, text, neighbours, taxonomy):
        from agent.classify.base import Classification

        self.calls += 1
        assert text  # held-out tickets reach the model with their text
        queues = dict.fromkeys([*taxonomy.queue_names, "unknown"], 0.001)
        queues["card_orders"] = 1 - 0.001 * (len(queues) - 1)
        prios = dict.fromkeys(taxonomy.priority_names, 0.25)
        return Classification("llm", queues, prios, probability_source="logprobs")


def test_an_llm_versions_threshold_is_fitted_on_the_models_own_answers(
    fresh_db_url, history, embedder
):
    load_history(fresh_db_url, history, source="history:tests", embedder=embedder)
    model = AlwaysCardOrders()
    fitted = calibrate_version(
        fresh_db_url,
        TAX,
        target=RoutingTarget(target_accuracy=0.9),
        classifier=model,
        model_tickets=60,
    )
    selective = fitted.abstention.selective
    assert model.calls == 60 and selective is not None and selective.n == 60
    # sure of itself and right about one ticket in eleven: no threshold can be trusted
    assert not selective.feasible and selective.min_confidence > 1


def test_a_version_on_enough_history_stores_a_learned_score_fitted_outside_its_calibration(
    fresh_db_url, embedder
):
    from agent.classify.novelty import NoveltyGate, leave_one_out
    from agent.services.calibration import held_out_history
    from agent.services.calibration import load_history as history_matrix

    tickets = stratified(labelled_records("train", TAX), 45)  # every queue splits in two
    load_history(fresh_db_url, tickets, source="history:tests", embedder=embedder)
    fitted = calibrate_version(fresh_db_url, TAX, target=RoutingTarget(), n=200)
    novelty = fitted.thresholds(0.5)["novelty"]
    assert novelty["score"] == "learned" and "score_fallback" not in novelty
    assert not any("learned" in w for w in fitted.warnings)
    # the calibration sample is the first 200 of the seeded order, the fit uses the rest
    cases = held_out_history(fresh_db_url, n=200, k=15)
    matrix = history_matrix(fresh_db_url)
    assert [c.queue for c in cases] == list(matrix.queues[:200])
    assert len(matrix.queues) - 200 >= 200
    # what the version stores is all the served path needs: it re-scores the calibration
    # tickets from the stored dict alone
    stored = NoveltyGate.from_thresholds(novelty)
    assert stored is not None and stored.model == fitted.abstention.gate.model
    again = sorted(stored.judge(leave_one_out(c.neighbours)).score for c in cases)
    assert again == pytest.approx(list(stored.calibration), abs=1e-5)
