"""Hostile input over real HTTP, with the expected status of each cell written down (the same
tables are in docs/security.md): SQL metacharacters, NUL and unicode in every query and path
parameter of the API and the UI, `%` and `_` taken literally where a LIKE filters; oversized
and malformed bodies on every POST endpoint, refused with a clear 4xx and nothing stored. A
parameter or a POST route the tables do not name fails the first tests, so a new one cannot
ship without its row."""

from __future__ import annotations

import asyncio
import re
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.routing import APIRoute

from agent.models.tickets import OVERRIDE_REASONS
from agent.services.operators import Actor
from agent.services.portal import set_portal
from tests.asyncdb import session_for
from tests.live_ui import LiveUi

NUL = "a\x00b"
METACHARACTERS = {
    "quote": "'",
    "double_quote": '"',
    "semicolon": ";",
    "comment": "--",
    "percent": "%",
    "underscore": "_",
    "backslash": "\\",
    "unicode": "ü漢🙂\u202e",
    "injection": "' OR '1'='1' --",
    "like_wildcards": "%_%",
}

# (route, parameter) -> status for every metacharacter payload, and for one holding NUL. The
# review queue's filters are read from the query string by hand (review_ui/views/review.py),
# the other parameters are declared. A NUL reaches Postgres only where a parameter is compared
# in SQL, which refuses it: the app answers 422 (agent/api/errors.py), never 500.
QUERY: dict[tuple[str, str], tuple[int, int]] = {
    ("/login", "next"): (200, 200),
    ("/review", "after"): (400, 400),
    ("/review", "status"): (200, 200),
    **{("/review", f): (200, 422) for f in ("queue", "priority", "mode", "channel", "source")},
    **{("/review", f): (200, 422) for f in ("version",)},
    ("/dashboards", "range"): (200, 200),
    ("/dashboards", "segment"): (200, 200),
    ("/dashboards", "window"): (422, 422),
    ("/ops/audit", "before"): (422, 422),
    ("/ops/audit", "action"): (200, 422),
}
REVIEW_FILTERS = {"status", "queue", "priority", "mode", "channel", "source", "version"}
# (method, route, parameter) -> the same for path parameters (sent %-encoded).
PATH: dict[tuple[str, str, str], tuple[int, int]] = {
    ("GET", "/v1/tickets/{ticket_id}", "ticket_id"): (422, 422),
    ("GET", "/review/tickets/{ticket_id}", "ticket_id"): (422, 422),
    ("POST", "/review/tickets/{ticket_id}/override", "ticket_id"): (422, 422),
    ("POST", "/review/tickets/{ticket_id}/confirm", "ticket_id"): (422, 422),
    ("GET", "/ops/alerts/{alert_id}", "alert_id"): (422, 422),
    ("POST", "/ops/alerts/{alert_id}", "alert_id"): (422, 422),
    ("POST", "/admin/users/{username}/{action}", "username"): (303, 422),
    ("POST", "/admin/users/{username}/{action}", "action"): (303, 303),
    ("GET", "/portal/{slug}", "slug"): (404, 422),
    ("POST", "/portal/{slug}", "slug"): (403, 422),
    ("GET", "/portal/{slug}/status/{token}", "slug"): (404, 422),
    ("GET", "/portal/{slug}/status/{token}", "token"): (404, 404),
    ("GET", "/ops/compare/{ref}", "ref"): (404, 422),
}

BIG = 70 * 1024  # over max_ticket_bytes (64 KiB)
# Malformed bodies -> status, for the API's JSON endpoints and for every form of the UI.
JSON_BODIES: dict[str, int] = {
    "oversized": 413,
    "oversized_chunked": 413,
    "not_json": 400,
    "empty": 400,
    "form_instead_of_json": 415,
    "invalid_utf8": 400,
    "array": 422,
    "nested_5000_deep": 400,
    "nul": 422,
    "lone_surrogate": 422,
    "wrong_types": 422,
    "5000_digit_number": 400,
}
FORM_BODIES: dict[str, int] = {
    "oversized": 413,
    "oversized_chunked": 413,
    "nul": 400,
    "invalid_utf8": 400,
    "broken_escape": 400,
    "json_instead_of_form": 415,
    "file_upload": 400,
    "5000_fields": 400,
}
API_POSTS = ("/v1/tickets", "/v1/outcomes")
TABLES = (
    "tickets",
    "decisions",
    "outcomes",
    "reviews",
    "switches",
    "users",
    "agent_versions",
    "version_labels",
    "alerts",
    "tenants",
    "review_boosts",
)
PORTAL = "hostile-input"


def _routes(app: Any) -> Iterator[tuple[str, APIRoute]]:
    """Every route with its full path (routers included lazily are walked too)."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, APIRoute]]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                context = getattr(route, "include_context", None)
                yield from walk(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
            elif isinstance(route, APIRoute):
                yield prefix + route.path, route

    yield from walk(app.router.routes, "")


@pytest.fixture(scope="module")
def app(live_ui: LiveUi) -> Any:
    from agent.api.app import create_app
    from review_ui import install

    app = create_app(live_ui.settings, plugins=False)
    install(app)
    return app


def _params(dependant: Any, kind: str) -> set[str]:
    """The names of a route's parameters of ``kind``, its dependencies' included."""
    names = {p.alias for p in getattr(dependant, kind)}
    for sub in dependant.dependencies:
        names |= _params(sub, kind)
    return names


def _public_docs(path: str) -> bool:
    return path.startswith(("/docs", "/redoc", "/openapi"))


def test_the_tables_name_every_query_and_path_parameter(app: Any) -> None:
    query, path = set(), set()
    for full, route in _routes(app):
        for method in route.methods - {"HEAD"}:
            if method == "GET":
                query |= {(full, name) for name in _params(route.dependant, "query_params")}
            if not _public_docs(full):
                path |= {(method, full, n) for n in _params(route.dependant, "path_params")}
    query |= {("/review", f) for f in REVIEW_FILTERS}
    assert query == set(QUERY)
    assert path == set(PATH)


def test_the_tables_name_every_post_route(app: Any) -> None:
    posts = {full for full, route in _routes(app) if route.methods & {"POST", "PUT", "PATCH"}}
    assert posts == set(API_POSTS) | set(FORMS)


@pytest.fixture(scope="module")
def admin(live_ui: LiveUi) -> Iterator[tuple[httpx.Client, str]]:
    client, token = live_ui.login("ada")
    yield client, token
    client.close()


def _status(client: httpx.Client, method: str, url: str, **kw: Any) -> int:
    return client.request(method, url, **kw).status_code


@pytest.mark.parametrize(("path", "param"), sorted(QUERY))
def test_metacharacters_in_a_query_parameter_get_the_tables_status(
    live_ui: LiveUi, admin: tuple[httpx.Client, str], path: str, param: str
) -> None:
    client, _ = admin
    got = {name: _status(client, "GET", path, params={param: v}) for name, v in _payloads()}
    assert got == _expected(QUERY[(path, param)]), got


@pytest.mark.parametrize(("method", "path", "param"), sorted(PATH))
def test_metacharacters_in_a_path_parameter_get_the_tables_status(
    live_ui: LiveUi, admin: tuple[httpx.Client, str], method: str, path: str, param: str
) -> None:
    client, token = admin
    defaults = {"ticket_id": str(uuid.uuid4()), "alert_id": str(uuid.uuid4())}
    defaults |= {"username": "nobody", "action": "disable", "slug": "none", "token": "x"}
    got = {}
    with live_ui.api() as api:
        caller = api if path.startswith("/v1/") else client
        for name, value in _payloads():
            url = path.format(**{**defaults, param: urllib.parse.quote(value, safe="")})
            kw = {"headers": {"x-csrf-token": token}} if method == "POST" else {}
            got[name] = _status(caller, method, url, **kw)
    assert got == _expected(PATH[(method, path, param)]), got


def _payloads() -> list[tuple[str, str]]:
    return [*METACHARACTERS.items(), ("nul", NUL)]


def _expected(statuses: tuple[int, int]) -> dict[str, int]:
    return {**dict.fromkeys(METACHARACTERS, statuses[0]), "nul": statuses[1]}


def test_like_filters_take_percent_and_underscore_literally(
    admin: tuple[httpx.Client, str],
) -> None:
    client, _ = admin

    def shown(action: str) -> int:
        page = client.get("/ops/audit", params={"action": action})
        assert page.status_code == 200
        match = re.search(r"(\d+) shown", page.text)
        assert match is not None
        return int(match.group(1))

    assert shown("auth.") > 0  # the admin's sign-ins
    assert shown("%") == shown("auth%") == shown("auth_login") == shown("_") == 0


# --- bodies ------------------------------------------------------------------------------


# Every form post (by route), with the fields a valid submission would carry.
FORMS: dict[str, dict[str, str]] = {
    "/login": {"username": "nobody", "password": "not-a-password"},
    "/logout": {},
    "/review/tickets/{ticket_id}/override": {
        "queue": "card_orders",
        "priority": "P2",
        "reason": sorted(OVERRIDE_REASONS)[0],
        "note": "hostile",
    },
    "/review/tickets/{ticket_id}/confirm": {"then": "next"},
    "/ops/switches": {"kind": "channel", "value": "email", "state": "on", "confirm": "yes"},
    "/ops/versions": {"action": "promote", "semver": "1.0.0"},
    "/ops/portals": {"tenant": "ui-tests", "action": "off"},
    "/ops/alerts/{alert_id}": {"action": "acknowledge", "note": "hostile"},
    "/admin/users": {"username": "mallory", "role": "admin", "password": "long-enough-123"},
    "/admin/users/{username}/{action}": {},
    "/portal/{slug}": {"name": "n", "email": "a@b.co", "subject": "s", "message": "m"},
}


def _form_bodies(fields: dict[str, str], token: str) -> dict[str, dict[str, Any]]:
    urlencoded = {"content-type": "application/x-www-form-urlencoded", "x-csrf-token": token}
    plain = urllib.parse.urlencode({**fields, "csrf_token": token}).encode()
    return {
        "oversized": {"data": {**fields, "csrf_token": token, "pad": "a" * BIG}},
        "oversized_chunked": {
            "content": iter([plain + b"&pad=", b"a" * BIG]),
            "headers": urlencoded,
        },
        "nul": {"data": {**fields, "csrf_token": token, "extra": NUL}},
        "invalid_utf8": {"content": plain + b"&note=%FF%FE&x=\xc3", "headers": urlencoded},
        "broken_escape": {"content": plain + b"&note=%zz%", "headers": urlencoded},
        "json_instead_of_form": {
            "json": {**fields, "csrf_token": token},
            "headers": {"x-csrf-token": token},
        },
        "file_upload": {
            "data": {**fields, "csrf_token": token},
            "files": {"attachment": ("a.txt", b"\x00\xff" * 10)},
        },
        "5000_fields": {
            "content": plain + b"".join(b"&f%d=1" % i for i in range(5000)),
            "headers": urlencoded,
        },
    }


def _json_bodies(ticket: str) -> dict[str, dict[str, Any]]:
    js = {"content-type": "application/json"}
    ticket_fields = {"source": "hostile", "external_id": uuid.uuid4().hex, "body": "b"}
    return {
        "oversized": {"json": {**ticket_fields, "body": "a" * BIG}},
        "oversized_chunked": {"content": iter([b'{"body": "', b"a" * BIG, b'"}']), "headers": js},
        "not_json": {"content": b"{", "headers": js},
        "empty": {"content": b"", "headers": js},
        "form_instead_of_json": {"data": ticket_fields},
        "invalid_utf8": {"content": b'{"body": "\xff"}', "headers": js},
        "array": {"json": [ticket_fields]},
        "nested_5000_deep": {"content": b"[" * 5000 + b"]" * 5000, "headers": js},
        "nul": {
            "json": {**ticket_fields, "body": NUL, "ticket_id": ticket, "queue": NUL},
        },
        "lone_surrogate": {
            "content": b'{"source": "s", "external_id": "\\ud800", "body": "\\ud800",'
            b' "queue": "\\ud800", "priority": "P2", "ticket_id": "' + ticket.encode() + b'"}',
            "headers": js,
        },
        "wrong_types": {"json": {"source": 1, "external_id": [], "body": {}, "queue": 5}},
        "5000_digit_number": {
            "content": b'{"source": "s", "external_id": "e", "body": "b", "metadata": {"n": '
            + b"9" * 5000
            + b"}}",
            "headers": js,
        },
    }


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]
        counts["audit_log"] = conn.execute(  # sign-ins of the test's own sessions aside
            "SELECT count(*) FROM audit_log WHERE action <> 'auth.login'"
        ).fetchone()[0]  # type: ignore[index]
    return counts


@pytest.fixture(scope="module")
def portal(live_ui: LiveUi) -> Iterator[None]:
    async def switch(enabled: bool) -> None:
        async with session_for(live_ui.database_url) as session:
            await set_portal(
                session, name="ui-tests", enabled=enabled, slug=PORTAL, actor=Actor("t", "admin")
            )

    asyncio.run(switch(True))
    yield
    asyncio.run(switch(False))


def test_malformed_bodies_get_the_tables_status_and_store_nothing(
    live_ui: LiveUi, portal: None
) -> None:
    with live_ui.api() as api:
        body = {"source": "hostile", "external_id": uuid.uuid4().hex, "body": "my card is lost"}
        ticket = api.post("/v1/tickets", json=body).json()["ticket_id"]
    before = _counts(live_ui.database_url)
    got: dict[str, dict[str, int]] = {}
    with live_ui.api() as api:
        for path in API_POSTS:
            cases = _json_bodies(ticket)
            got[path] = {name: api.post(path, **kw).status_code for name, kw in cases.items()}
    ids = {"ticket_id": ticket, "alert_id": uuid.uuid4(), "slug": PORTAL}
    ids |= {"username": "nobody-here", "action": "disable"}
    for route, fields in FORMS.items():
        client, token = live_ui.login("ada")
        try:
            cases = _form_bodies(fields, token)
            url = route.format(**ids)
            got[route] = {name: client.post(url, **kw).status_code for name, kw in cases.items()}
        finally:
            client.close()
    expected = {p: JSON_BODIES if p.startswith("/v1/") else FORM_BODIES for p in got}
    assert got == expected
    assert _counts(live_ui.database_url) == before
