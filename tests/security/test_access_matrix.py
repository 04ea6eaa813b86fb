"""The access matrix: every route of the app against every role, no login, and another
tenant's API key, with the expected status of each cell written down and asserted over real
HTTP. A route the table does not name fails the first test, so a new route cannot ship without
its row (docs/security.md prints the same table)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.live_ui import LiveUi, csrf_of

ROLES = ("anonymous", "reviewer", "operator", "admin")
USERS = {"reviewer": "rita", "operator": "oscar", "admin": "ada"}
OK, SEE_OTHER, FORBIDDEN, NOT_FOUND = 200, 303, 403, 404

# (method, path) -> expected status for (anonymous, reviewer, operator, admin), each request
# carrying the caller's valid CSRF token. A page or a form post answers an anonymous browser
# with 303 to the login page; a role below the route's gets 403; a permitted form post with
# empty fields answers 303 back to its page with the error.
UI: dict[tuple[str, str], tuple[int, int, int, int]] = {
    ("GET", "/"): (SEE_OTHER,) * 4,
    ("GET", "/login"): (OK,) * 4,
    ("GET", "/review"): (SEE_OTHER, OK, OK, OK),
    ("GET", "/review/tickets/{ticket}"): (SEE_OTHER, OK, OK, OK),
    ("POST", "/review/tickets/{ticket}/override"): (SEE_OTHER, SEE_OTHER, SEE_OTHER, SEE_OTHER),
    ("POST", "/review/tickets/{ticket}/confirm"): (SEE_OTHER, SEE_OTHER, SEE_OTHER, SEE_OTHER),
    ("GET", "/dashboards"): (SEE_OTHER, OK, OK, OK),
    ("GET", "/ops"): (SEE_OTHER, FORBIDDEN, OK, OK),
    ("POST", "/ops/switches"): (SEE_OTHER, FORBIDDEN, SEE_OTHER, SEE_OTHER),
    ("POST", "/ops/versions"): (SEE_OTHER, FORBIDDEN, SEE_OTHER, SEE_OTHER),
    ("POST", "/ops/portals"): (SEE_OTHER, FORBIDDEN, SEE_OTHER, SEE_OTHER),
    ("GET", "/ops/alerts/{alert}"): (SEE_OTHER, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    ("POST", "/ops/alerts/{alert}"): (SEE_OTHER, FORBIDDEN, SEE_OTHER, SEE_OTHER),
    ("GET", "/ops/audit"): (SEE_OTHER, FORBIDDEN, OK, OK),
    ("GET", "/ops/compare/{ref}"): (SEE_OTHER, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    ("GET", "/admin/users"): (SEE_OTHER, FORBIDDEN, FORBIDDEN, OK),
    ("POST", "/admin/users"): (SEE_OTHER, FORBIDDEN, FORBIDDEN, SEE_OTHER),
    ("POST", "/admin/users/{username}/{action}"): (SEE_OTHER, FORBIDDEN, FORBIDDEN, SEE_OTHER),
    # The public ticket portal needs no login; a portal that is off (the default) is 404 for
    # everyone (tests/review_ui/test_portal.py covers an enabled one).
    ("GET", "/portal/{slug}"): (NOT_FOUND,) * 4,
    ("POST", "/portal/{slug}"): (NOT_FOUND,) * 4,
    ("GET", "/portal/{slug}/status/{token}"): (NOT_FOUND,) * 4,
}

# Sign-in and sign-out have their own tests (tests/review_ui/test_auth.py): the login limit
# and session rotation make a fixed status per role meaningless for them.
SESSION_ROUTES = {("POST", "/login"), ("POST", "/logout")}

# Public on purpose: liveness and readiness for the orchestrator, metrics for Prometheus, the
# API's schema and its docs. None carries a ticket, a tenant or a secret; docs/security.md
# says to keep /metrics and /health/detailed on the internal network.
PUBLIC = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/health/detailed"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}

# (method, path) -> expected status for (no key, the owner's key, another tenant's key).
API: dict[tuple[str, str], tuple[int, int, int]] = {
    ("POST", "/v1/tickets"): (401, 201, 201),
    ("GET", "/v1/tickets/{ticket}"): (401, 200, 404),
    ("POST", "/v1/outcomes"): (401, 200, 404),
}


def _app_routes(app: object) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, HEAD aside (FastAPI adds it to each GET)."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[object], prefix: str) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)  # an included router (lazy)
            if inner is not None:
                context = getattr(route, "include_context", None)
                walk(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
            elif methods := getattr(route, "methods", None):
                path = prefix + route.path  # type: ignore[attr-defined]
                found.update((m, path) for m in methods if m != "HEAD")

    walk(app.router.routes, "")  # type: ignore[attr-defined]
    return found


def _template(path: str) -> str:
    return path.replace("{ticket_id}", "{ticket}").replace("{alert_id}", "{alert}")


def test_the_matrix_names_every_route_the_app_serves(live_ui: LiveUi) -> None:
    from agent.api.app import create_app
    from review_ui import install

    app = create_app(live_ui.settings, plugins=False)
    install(app)
    served = {(m, _template(p)) for m, p in _app_routes(app)}
    named = set(UI) | SESSION_ROUTES | PUBLIC | set(API)
    assert served - named == set(), "routes without a row in the access matrix"
    assert named - served == set(), "rows for routes the app no longer serves"


@dataclass(frozen=True)
class Callers:
    ticket: str
    clients: dict[str, tuple[httpx.Client, str]]


@pytest.fixture(scope="module")
def callers(live_ui: LiveUi) -> Iterator[Callers]:
    with live_ui.api() as api:
        body = {"source": "matrix", "external_id": uuid.uuid4().hex, "body": "my card is lost"}
        ticket = api.post("/v1/tickets", json=body).json()["ticket_id"]
    anonymous = live_ui.browser_client()
    clients = {"anonymous": (anonymous, csrf_of(anonymous.get("/login").text))}
    clients |= {role: live_ui.login(name) for role, name in USERS.items()}
    yield Callers(ticket, clients)
    for client, _ in clients.values():
        client.close()


def _concrete(path: str, ticket: str) -> str:
    return path.format(
        ticket=ticket,
        alert=uuid.uuid4(),
        username=f"nobody-{uuid.uuid4().hex[:6]}",
        action="x",
        slug="no-such-portal",
        ref="9.9.9-none",
        token="x",
    )


@pytest.mark.parametrize(("method", "path"), sorted(UI))
def test_each_role_gets_the_status_the_matrix_gives(callers: Callers, method, path) -> None:
    got = []
    for role in ROLES:
        client, token = callers.clients[role]
        data = {"csrf_token": token} if method == "POST" else None
        got.append(client.request(method, _concrete(path, callers.ticket), data=data).status_code)
    assert tuple(got) == UI[(method, path)], dict(zip(ROLES, got, strict=True))


@pytest.mark.parametrize(
    ("method", "path"), sorted(k for k in (*UI, *SESSION_ROUTES) if k[0] == "POST")
)
def test_every_form_post_without_its_csrf_token_is_refused_for_every_role(
    callers: Callers, method, path
) -> None:
    for role in ROLES:
        client, _ = callers.clients[role]
        for data in ({}, {"csrf_token": "forged-" + uuid.uuid4().hex}):
            r = client.request(method, _concrete(path, callers.ticket), data=data)
            assert r.status_code == FORBIDDEN, (role, data, r.status_code)


@pytest.mark.parametrize(("method", "path"), sorted(PUBLIC))
def test_public_routes_answer_without_a_login(live_ui: LiveUi, method, path) -> None:
    with live_ui.browser_client() as client:
        assert client.request(method, path).status_code == OK


def test_the_api_answers_no_key_the_owner_and_another_tenant_as_the_matrix_gives(
    live_ui: LiveUi, other_tenant_key: str
) -> None:
    headers = {"Authorization": f"Bearer {other_tenant_key}"}
    with (
        live_ui.api() as owner,
        httpx.Client(base_url=live_ui.url, timeout=30, headers=headers) as other,
        httpx.Client(base_url=live_ui.url, timeout=30) as nobody,
    ):
        body = {"source": "matrix", "external_id": uuid.uuid4().hex, "body": "card not arrived"}
        ticket = owner.post("/v1/tickets", json=body).json()["ticket_id"]
        outcome = {"ticket_id": ticket, "queue": "card_orders", "priority": "P3"}
        requests = {
            ("POST", "/v1/tickets"): lambda c: c.post(
                "/v1/tickets", json={**body, "external_id": uuid.uuid4().hex}
            ),
            ("GET", "/v1/tickets/{ticket}"): lambda c: c.get(f"/v1/tickets/{ticket}"),
            ("POST", "/v1/outcomes"): lambda c: c.post("/v1/outcomes", json=outcome),
        }
        for key, send in requests.items():
            got = tuple(send(c).status_code for c in (nobody, owner, other))
            assert got == API[key], (key, got)


def test_a_ui_session_is_not_an_api_key_and_an_api_key_is_not_a_ui_session(
    callers: Callers, live_ui: LiveUi
) -> None:
    admin, _ = callers.clients["admin"]
    assert admin.get(f"/v1/tickets/{callers.ticket}").status_code == 401
    with live_ui.api() as api:
        r = api.get("/ops", follow_redirects=False)
        assert r.status_code == SEE_OTHER and r.headers["location"].startswith("/login")
