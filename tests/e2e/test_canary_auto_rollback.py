"""The guarded rollout end to end: a worse canary stops itself at the pair the sequential test
predicts; a canary as good as production keeps serving.

A real ``ticketwatch serve`` process routes tickets posted over HTTP, each one's text taken
from the history, so its right queue is known. Production (a knn where the nearest neighbour
decides) routes each there: the exact text is its nearest neighbour. The worse canary runs the
same knn on a history that a bad taxonomy migration relabelled by a rotation of the queues
(every queue becomes the next one), so it routes each ticket, as a final decision, to a wrong
queue. A reviewer signed
in to the review UI confirms or overrides every decision over HTTP, and after each round (one
ticket served by each version) ``ticketwatch versions compare CANDIDATE --auto --json`` runs as
a subprocess, as a scheduler would run it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from agent.classify.knn import KnnParams
from agent.datasets.banking77 import labelled_records
from agent.datasets.records import LabelledTicket
from agent.embed import get_embedder
from agent.repositories import catalog
from agent.rollout.sequential import e_above
from agent.services.control import canary_bucket
from agent.services.history_loader import load_history
from agent.services.operators import Actor, move_label
from agent.services.taxonomy_migration import migrate_taxonomy
from agent.services.tenants import create_tenant
from agent.services.versions import create_version
from agent.taxonomy import Taxonomy, load_taxonomy
from agent.taxonomy_mapping import QueueRule, TaxonomyMapping
from review_ui.services.users import create_user
from tests.asyncdb import session_for
from tests.conftest import Servers
from tests.dbutil import create_database, drop_database, unique_name
from tests.e2e.processes import ROOT, child_env, ticketwatch
from tests.factories import stratified
from tests.live import ApiProcess, settings_for
from tests.live_ui import csrf_of

pytestmark = pytest.mark.e2e

ALPHA = 0.05  # the CLI's default
PERCENT = 50
PER_QUEUE = 10
EXTRA_ROUNDS = 2  # looks allowed past the prediction before the test gives up
REVIEWER = ("rita", "rita-reviews-tickets")
ACTOR = Actor("tests", "admin")


def pairs_until_roll_back(*, p_production_wrong: float, p_canary_wrong: float) -> int:
    """Labelled pairs until E(theta > 1/2) reaches 2/alpha, when the error rates are 0 or 1.

    A pair (the i-th labelled decision of each version) is discordant with probability
    p_c(1-p_b) + p_b(1-p_c), and the canary is its wrong one with probability
    theta = p_c(1-p_b) / (p_c(1-p_b) + p_b(1-p_c)) (``agent/rollout/sequential.py``). With
    p_b = 0 and p_c = 1 both are 1: after n pairs the evidence is n against the canary and
    none for it, so the stop is the first n with ``e_above(n, 0, 1/2) >= 2/alpha``."""
    discordant = p_canary_wrong * (1 - p_production_wrong) + p_production_wrong * (
        1 - p_canary_wrong
    )
    theta = p_canary_wrong * (1 - p_production_wrong) / discordant
    assert discordant == 1.0 and theta == 1.0, "only certain outcomes give an exact stop"
    return next(n for n in itertools.count(1) if e_above(n, 0, 0.5) >= 2 / ALPHA)


@dataclass
class Rollout:
    database_url: str
    env: dict[str, str]
    api: ApiProcess
    api_key: str
    history: list[LabelledTicket]
    reviewer: httpx.Client
    csrf: str

    def version_ids(self) -> dict[str, str]:
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute("SELECT semver, id::text FROM agent_versions").fetchall()
        return {str(semver): str(version_id) for semver, version_id in rows}

    def canary_label(self) -> tuple[str, int]:
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(
                "SELECT v.semver, l.canary_percent FROM version_labels l JOIN agent_versions v "
                "ON v.id = l.agent_version_id WHERE l.label = 'canary'"
            ).fetchone()
        assert row is not None
        return row[0], row[1]

    def canary_rollbacks(self) -> list[dict[str, Any]]:
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute(
                "SELECT details FROM audit_log WHERE action = 'version.canary_rollback'"
            ).fetchall()
        return [row[0] for row in rows]


def _sign_in(api_url: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=api_url, timeout=30, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    username, password = REVIEWER
    r = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert r.status_code == 303, r.text
    return client, csrf_of(client.get("/review").text)


def distinct(records: list[LabelledTicket]) -> list[LabelledTicket]:
    """The records whose text no other record has: each one's nearest neighbour is itself."""
    seen = Counter(r.text.strip() for r in records)
    return [r for r in records if seen[r.text.strip()] == 1]


async def _production_and_people(url: str) -> str:
    """Production 1.0.0, a tenant (its API key) and a reviewer. Its knn is a nearest-neighbour
    vote in effect: at tau 0.01 a neighbour 0.05 further away weighs e^-5 as much, so a ticket
    whose exact text is in the history (distance 0) takes that text's queue, confidently."""
    async with session_for(url) as session:
        await create_version(
            session,
            semver="1.0.0",
            classifier="knn",
            taxonomy=load_taxonomy("banking77"),
            actor=ACTOR,
            params=KnnParams(k=5, tau=0.01).to_params(),
            thresholds={"min_confidence": 0.5},
        )
        await move_label(session, label="production", semver="1.0.0", actor=ACTOR)
        _, key = await create_tenant(session, name="canary-e2e", actor=ACTOR)
        username, password = REVIEWER
        await create_user(
            session, username=username, role="reviewer", password=password, actor=ACTOR
        )
        return key


@pytest.fixture(scope="module")
def rollout(servers: Servers, template_db: str) -> Iterator[Rollout]:
    name = unique_name("tw_canary")
    create_database(servers.postgres_url, name, template=template_db)
    url = servers.database(name)
    settings = settings_for(
        database_url=url, redis_url=servers.redis_url, data_dir=servers.data_dir
    )
    history = stratified(labelled_records("train", load_taxonomy("banking77")), PER_QUEUE)
    load_history(url, history, source="history:canary-e2e", embedder=get_embedder(settings))
    api_key = asyncio.run(_production_and_people(url))
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": servers.redis_url,
        "TICKETWATCH_DATA_DIR": str(servers.data_dir),
        "TICKETWATCH_EMBEDDED_AUTOSTART": "false",
        "TICKETWATCH_LOG_LEVEL": "WARNING",
    }
    api = ApiProcess(database_url=url, redis_url=servers.redis_url, data_dir=servers.data_dir)
    api.start()
    reviewer: httpx.Client | None = None
    try:
        reviewer, csrf = _sign_in(api.url)
        yield Rollout(url, env, api, api_key, distinct(history), reviewer, csrf)
    finally:
        if reviewer is not None:
            reviewer.close()
        api.stop()
        drop_database(servers.postgres_url, name)


def rotated(taxonomy: Taxonomy) -> tuple[Taxonomy, TaxonomyMapping]:
    """The same queues under a new taxonomy version, and a mapping that sends each queue's
    history to the next queue: every label wrong, none dropped (a botched migration)."""
    names = list(taxonomy.queue_names)
    nxt = dict(zip(names, names[1:] + names[:1], strict=True))
    new = Taxonomy.model_validate({**taxonomy.model_dump(), "version": "rotated"})
    return new, TaxonomyMapping({q: QueueRule(q, to=nxt[q]) for q in names})


def create_candidate(url: str, semver: str, *, rotate: bool) -> None:
    """A knn version with production's parameters and thresholds, on production's history
    (``rotate``: on its relabelling by :func:`rotated`)."""

    async def body() -> None:
        async with session_for(url) as session:
            production = await catalog.version_by_semver(session, "1.0.0")
            assert production is not None
            taxonomy = load_taxonomy("banking77")
            if rotate:
                taxonomy, mapping = rotated(taxonomy)
                base = load_taxonomy("banking77")
                await migrate_taxonomy(
                    session, old=base, new=taxonomy, mapping=mapping, actor=ACTOR
                )
            await create_version(
                session,
                semver=semver,
                classifier="knn",
                taxonomy=taxonomy,
                actor=ACTOR,
                params=production.params,
                thresholds=production.thresholds,
                rationale="history relabelled by a rotation" if rotate else "production's twin",
            )

    asyncio.run(body())


def customers(prefix: str, *, canary: bool) -> Iterator[str]:
    """Customer ids the sticky hash puts in the canary's share (or out of it)."""
    for i in itertools.count():
        customer = f"{prefix}-{i}"
        if (canary_bucket(customer) < PERCENT) == canary:
            yield customer


def post(rollout: Rollout, *, customer: str, text: str) -> dict[str, Any]:
    r = httpx.post(
        f"{rollout.api.url}/v1/tickets",
        headers={"Authorization": f"Bearer {rollout.api_key}"},
        json={
            "source": "canary-e2e",
            "external_id": uuid.uuid4().hex,
            "body": text,
            "customer_id": customer,
        },
        timeout=60,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def review(rollout: Rollout, route: dict[str, Any], right_queue: str) -> str:
    """Confirm the route, or override it to ``right_queue``, as a reviewer in the UI."""
    path = f"/review/tickets/{route['ticket_id']}"
    form = {"csrf_token": rollout.csrf}
    if route["queue"] == right_queue:
        verdict, r = "confirmed", rollout.reviewer.post(f"{path}/confirm", data=form)
    else:
        override = {"queue": right_queue, "priority": route["priority"], "reason": "wrong_queue"}
        verdict, r = "overridden", rollout.reviewer.post(f"{path}/override", data=form | override)
    # a refused review sends the reviewer back to the ticket page with the reason
    assert r.status_code == 303 and r.headers["location"] == "/review", r.text
    return verdict


def compare(rollout: Rollout, candidate: str) -> dict[str, Any]:
    """``ticketwatch versions compare CANDIDATE --auto --json``: exit 3 on roll back."""
    done = subprocess.run(
        [sys.executable, "-m", "agent", "versions", "compare", candidate, "--auto", "--json"],
        env=child_env(rollout.env),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode in (0, 3), done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    assert (done.returncode == 3) == (result["verdict"]["action"] == "roll back")
    return result


def one_round(
    rollout: Rollout,
    *,
    ids: dict[str, str],
    served_by: dict[str, str],
    texts: Iterator[LabelledTicket],
    who: dict[str, Iterator[str]],
) -> dict[str, str]:
    """One ticket for a customer of each side, reviewed; each side's verdict. The canary's
    goes first: the comparison reads production's decisions from the canary's first one."""
    verdicts = {}
    for side in ("canary", "production"):
        record = next(texts)
        route = post(rollout, customer=next(who[side]), text=record.text)
        assert route["agent_version_id"] == ids[served_by[side]], side  # sticky by customer
        assert route["routed_to"] == route["queue"], route  # a final route, not human triage
        verdicts[side] = review(rollout, route, record.queue)
    return verdicts


def test_a_canary_on_rotated_labels_is_rolled_back_at_the_predicted_pair(
    rollout: Rollout,
) -> None:
    # production knows each ticket's text with its right label; the canary knows it with the
    # next queue's: error rates 0 and 1, checked on every review below
    predicted = pairs_until_roll_back(p_production_wrong=0.0, p_canary_wrong=1.0)
    create_candidate(rollout.database_url, "1.1.0-rotated", rotate=True)
    out = ticketwatch(
        ["versions", "canary", "1.1.0-rotated", "--percent", str(PERCENT)], env=rollout.env
    )
    assert f"for {PERCENT}%" in out
    ids = rollout.version_ids()
    served_by = {"production": "1.0.0", "canary": "1.1.0-rotated"}
    who = {side: customers(f"bad-{side}", canary=side == "canary") for side in served_by}
    texts = iter(rollout.history[::2])
    looks: list[tuple[str, int, int]] = []
    for n in range(1, predicted + EXTRA_ROUNDS + 1):
        verdicts = one_round(rollout, ids=ids, served_by=served_by, texts=texts, who=who)
        assert verdicts == {"production": "confirmed", "canary": "overridden"}, n
        result = compare(rollout, "1.1.0-rotated")
        evidence = result["evidence"]
        looks.append(
            (result["verdict"]["action"], evidence["candidate_worse"], evidence["candidate_better"])
        )
        if result["verdict"]["action"] == "roll back":
            assert result["rolled_back"] and result["stream"] == "canary"
            break
    observed = len(looks)
    print(f"canary rolled back after {observed} labelled pairs (predicted {predicted}): {looks}")
    assert looks == [("hold", n, 0) for n in range(1, predicted)] + [("roll back", predicted, 0)]
    assert rollout.canary_label() == ("1.1.0-rotated", 0)
    (audit,) = rollout.canary_rollbacks()
    assert audit["previous_percent"] == PERCENT
    assert f"{predicted} of {predicted} discordant pairs" in audit["verdict"]
    # the canary's customers are production's again from their very next ticket
    record = next(texts)
    again = post(rollout, customer=next(who["canary"]), text=record.text)
    assert again["agent_version_id"] == ids["1.0.0"]
    assert again["queue"] == record.queue


def test_a_canary_that_routes_like_production_keeps_serving(rollout: Rollout) -> None:
    # both sides right on every ticket: no discordant pair, so E stays 1 at every look (an
    # always-valid test may be read after each round; one look at the end reads the same)
    rounds = pairs_until_roll_back(p_production_wrong=0.0, p_canary_wrong=1.0)
    rollbacks_before = len(rollout.canary_rollbacks())
    create_candidate(rollout.database_url, "1.2.0-twin", rotate=False)
    ticketwatch(["versions", "canary", "1.2.0-twin", "--percent", str(PERCENT)], env=rollout.env)
    ids = rollout.version_ids()
    served_by = {"production": "1.0.0", "canary": "1.2.0-twin"}
    who = {side: customers(f"good-{side}", canary=side == "canary") for side in served_by}
    texts = iter(rollout.history[1::2])
    for n in range(1, rounds + 1):
        verdicts = one_round(rollout, ids=ids, served_by=served_by, texts=texts, who=who)
        assert verdicts == {"production": "confirmed", "canary": "confirmed"}, n
    result = compare(rollout, "1.2.0-twin")
    evidence = result["evidence"]
    assert (evidence["candidate_worse"], evidence["candidate_better"]) == (0, 0)
    assert result["verdict"]["action"] in ("hold", "promote") and not result["rolled_back"]
    every = result["segments"][0]
    assert every["candidate"]["reviewed_accuracy"]["k"] == rounds
    assert every["candidate"]["reviewed_accuracy"]["n"] == rounds
    assert rollout.canary_label() == ("1.2.0-twin", PERCENT)
    assert len(rollout.canary_rollbacks()) == rollbacks_before
    still = post(rollout, customer=next(who["canary"]), text=next(texts).text)
    assert still["agent_version_id"] == ids["1.2.0-twin"]
