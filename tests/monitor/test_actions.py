"""Opt-in actions on alerts, seen from the real API: the next ticket of the segment goes to
humans; a boosted segment is sampled for review; nothing is switched back unless asked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, pool, select
from sqlalchemy.orm import Session

from agent.api.app import create_app
from agent.config import Settings
from agent.db import sqlalchemy_url
from agent.embed import get_embedder
from agent.models import Alert, AuditEntry, Decision, ReviewBoost, Switch, Tenant
from monitor.worker.actions import plan, run_actions
from tests.factories import make_alert
from tests.live import ServerThread, set_up_agent, settings_for
from tests.monitor.banking import pools, ticket_body


@dataclass
class Live:
    settings: Settings
    client: httpx.Client
    engine: object

    def session(self) -> Session:
        return Session(self.engine)  # type: ignore[arg-type]

    def route(self, channel: str) -> dict[str, object]:
        record = pools(history_per_queue=1).calm[len(channel)]
        response = self.client.post(
            "/v1/tickets",
            json=ticket_body(
                record, channel=channel, received_at=None, prefix=f"a-{uuid.uuid4().hex}"
            ),
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def alert(self, segment: str, severity: str = "critical") -> uuid.UUID:
        with self.session() as db, db.begin():
            return make_alert(db, segment=segment, severity=severity).id

    def audit(self, action: str) -> list[tuple[str, str, str]]:
        with self.session() as db:
            rows = db.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
            return [(r.actor, r.actor_role, r.target) for r in rows]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, servers, template_db) -> Iterator[Live]:
    from tests.dbutil import create_database, drop_database, unique_name

    name = unique_name("tw_actions")
    create_database(servers.postgres_url, name, template=template_db)
    url = servers.database(name)
    settings = settings_for(
        database_url=url, redis_url=servers.redis_url, data_dir=Path(tmp_path_factory.mktemp("a"))
    )
    setup = set_up_agent(settings, pools(history_per_queue=20).history, get_embedder(settings))
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    headers = {"Authorization": f"Bearer {setup.api_key}"}
    with (
        ServerThread(create_app(settings, plugins=False)) as server,
        httpx.Client(base_url=server.url, headers=headers, timeout=30) as client,
    ):
        yield Live(settings, client, engine)
    engine.dispose()
    drop_database(servers.postgres_url, name)


def with_actions(live: Live, **values: object) -> Settings:
    return live.settings.model_copy(update=values)


def test_a_segment_kill_switch_sends_the_segments_next_ticket_to_humans(live: Live) -> None:
    assert live.route("email")["mode"] != "kill_switch"
    alert_id = live.alert("channel:email")
    settings = with_actions(live, monitor_action_kill_switch="segment")
    done = run_actions(settings, alert_id=alert_id, event="opened")
    assert done["kill_switch"]["key"] == "channel:email"
    routed = live.route("email")
    assert (routed["mode"], routed["routed_to"]) == ("kill_switch", "human_triage")
    assert live.route("web")["mode"] != "kill_switch"  # only that segment
    assert ("monitor", "monitor", "channel:email") in live.audit("kill_switch.on")
    with live.session() as db:
        alert = db.get(Alert, alert_id)
        assert alert is not None and alert.actions == done
    # a task delivered twice acts once
    run_actions(settings, alert_id=alert_id, event="opened")
    assert live.audit("kill_switch.on").count(("monitor", "monitor", "channel:email")) == 1
    # resolving switches nothing back by default
    run_actions(settings, alert_id=alert_id, event="resolved")
    assert live.route("email")["mode"] == "kill_switch"


def test_auto_release_turns_off_only_what_the_monitor_set(live: Live) -> None:
    settings = with_actions(live, monitor_action_kill_switch="segment", monitor_auto_release=True)
    alert_id = live.alert("channel:chat")
    run_actions(settings, alert_id=alert_id, event="opened")
    assert live.route("chat")["mode"] == "kill_switch"
    done = run_actions(settings, alert_id=alert_id, event="resolved")
    assert "released_at" in done["kill_switch"]
    assert live.route("chat")["mode"] != "kill_switch"
    assert ("monitor", "monitor", "channel:chat") in live.audit("kill_switch.off")


def test_a_boost_samples_the_segment_for_review(live: Live) -> None:
    settings = with_actions(live, monitor_action_boost_review_rate=1.0)
    alert_id = live.alert("channel:phone")
    done = run_actions(settings, alert_id=alert_id, event="escalated")
    assert done == {"boost_review": done["boost_review"]}
    assert done["boost_review"]["segment"] == "channel:phone"
    routed = [live.route("phone") for _ in range(3)]
    with live.session() as db:
        boost = db.get(ReviewBoost, "channel:phone")
        assert boost is not None and (boost.rate, boost.actor) == (1.0, "monitor")
        decisions = [db.get(Decision, uuid.UUID(str(r["decision_id"]))) for r in routed]
    assert all(d is not None and d.sampled_for_review for d in decisions)
    assert ("monitor", "monitor", "channel:phone") in live.audit("review.boost")


def test_a_whole_stream_alert_needs_the_global_mode(live: Live) -> None:
    alert_id = live.alert("all")
    segment_mode = with_actions(live, monitor_action_kill_switch="segment")
    done = run_actions(segment_mode, alert_id=alert_id, event="opened")
    assert "skipped" in done["kill_switch"]
    with live.session() as db:
        assert db.get(Switch, "global") is None


def test_actions_wait_for_the_configured_severity(live: Live) -> None:
    alert_id = live.alert("channel:sms", severity="warning")
    settings = with_actions(live, monitor_action_kill_switch="segment")
    assert run_actions(settings, alert_id=alert_id, event="opened") == {}
    assert live.route("sms")["mode"] != "kill_switch"


def test_the_plan_follows_the_settings() -> None:
    base = Settings()
    assert plan(base, segment="queue:x", severity="critical", event="opened", done={}) == ([], {})
    glob = base.model_copy(update={"monitor_action_kill_switch": "global"})
    steps, _ = plan(glob, segment="queue:x", severity="critical", event="opened", done={})
    assert [(s.kind, s.key) for s in steps] == [("kill_switch", "global")]
    warn = glob.model_copy(update={"monitor_action_min_severity": "warning"})
    steps, _ = plan(warn, segment="all", severity="warning", event="escalated", done={})
    assert [s.key for s in steps] == ["global"]
    done = {"kill_switch": {"key": "global"}}
    assert plan(glob, segment="all", severity="critical", event="opened", done=done) == ([], {})


def test_a_tenant_segments_alert_switches_that_tenant_by_its_id(live: Live) -> None:
    settings = with_actions(live, monitor_action_kill_switch="segment", monitor_auto_release=True)
    with live.session() as db:  # the API key's tenant, "tests": no portal, so no slug of its own
        tenant = db.scalars(select(Tenant).where(Tenant.name == "tests")).one()
    alert_id = live.alert("tenant:tests")  # the monitor names tenants by slug
    done = run_actions(settings, alert_id=alert_id, event="opened")
    assert done["kill_switch"]["key"] == f"tenant:{tenant.id}"  # switches name them by id
    routed = live.route("web")
    assert (routed["mode"], routed["routed_to"]) == ("kill_switch", "human_triage")
    run_actions(settings, alert_id=alert_id, event="resolved")
    assert live.route("web")["mode"] != "kill_switch"
