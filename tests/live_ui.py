"""A real API + review UI over HTTP, on a migrated database with Banking77 history, a
calibrated knn version, and one user per role: the ``live_ui`` fixture of the review UI's and
the security tests (registered by ``tests/conftest.py``, so one server serves both)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from agent.api.app import create_app
from agent.config import Settings
from agent.datasets.banking77 import labelled_records
from agent.embed import get_embedder
from agent.services.operators import Actor
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy
from review_ui import install
from review_ui.services.users import create_user
from tests.asyncdb import session_for
from tests.conftest import Servers
from tests.dbutil import create_database, drop_database, unique_name
from tests.factories import stratified
from tests.live import AgentSetup, ServerThread, set_up_agent, settings_for

PER_QUEUE = 40
PASSWORDS = {
    "rita": ("reviewer", "rita-reviews-tickets"),
    "oscar": ("operator", "oscar-operates-the-agent"),
    "ada": ("admin", "ada-administers-accounts"),
}
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class LiveUi:
    url: str
    settings: Settings
    setup: AgentSetup
    database_url: str

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            timeout=30,
            headers={"Authorization": f"Bearer {self.setup.api_key}"},
        )

    def browser_client(self) -> httpx.Client:
        """A cookie-keeping client, like a browser without JavaScript."""
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)

    def login(self, username: str) -> tuple[httpx.Client, str]:
        """A signed-in client and its CSRF token."""
        client = self.browser_client()
        token = csrf_of(client.get("/login").text)
        password = PASSWORDS[username][1]
        r = client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )
        assert r.status_code == 303, r.text
        return client, csrf_of(client.get("/review").text)


def csrf_of(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def _create_users_and_a_candidate(url: str) -> None:
    async with session_for(url) as session:
        for name, (role, password) in PASSWORDS.items():
            await create_user(
                session, username=name, role=role, password=password, actor=Actor("tests", "admin")
            )
        await create_version(
            session,
            semver="1.1.0-rc.1",
            classifier="knn",
            taxonomy=load_taxonomy("banking77"),
            actor=Actor("mira", "operator"),
            params={"k": 25},
            thresholds={"min_confidence": 0.55},
            rationale="k=25 and a stricter confidence threshold after the card-fees review",
        )


@pytest.fixture(scope="session")
def ui_settings(servers: Servers, template_db: str) -> Iterator[Settings]:
    name = unique_name("tw_ui")
    create_database(servers.postgres_url, name, template=template_db)
    yield settings_for(
        database_url=servers.database(name),
        redis_url=servers.redis_url,
        data_dir=servers.data_dir,
        review_sample_rate=0.1,
        login_max_failures=3,
    )
    drop_database(servers.postgres_url, name)


@pytest.fixture(scope="session")
def live_ui(ui_settings: Settings) -> Iterator[LiveUi]:
    history = stratified(labelled_records("train", load_taxonomy("banking77")), PER_QUEUE)
    setup = set_up_agent(ui_settings, history, get_embedder(ui_settings), tenant="ui-tests")
    url = ui_settings.database_url.get_secret_value()  # type: ignore[union-attr]
    asyncio.run(_create_users_and_a_candidate(url))
    app = create_app(ui_settings, plugins=False)
    install(app)
    with ServerThread(app) as server:
        yield LiveUi(server.url, ui_settings, setup, url)
