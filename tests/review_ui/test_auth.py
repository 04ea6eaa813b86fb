"""Signing in over real HTTP: sessions, cookie flags, the login limit, roles and CSRF."""

from __future__ import annotations

import uuid

import psycopg

from review_ui.security.headers import HEADERS
from tests.live_ui import PASSWORDS, csrf_of


def sign_in(client, username: str, password: str, *, next_path: str = "/review"):
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
    )


def test_pages_need_a_session_and_send_the_browser_to_the_login_page(live_ui):
    with live_ui.browser_client() as client:
        r = client.get("/review/tickets/" + str(uuid.uuid4()))
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/review/")
        htmx = client.get("/ops", headers={"HX-Request": "true"})
        assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/login")


def test_signing_in_sets_an_httponly_samesite_session_cookie(live_ui):
    with live_ui.browser_client() as client:
        r = sign_in(client, "rita", PASSWORDS["rita"][1], next_path="/dashboards")
        assert r.status_code == 303 and r.headers["location"] == "/dashboards"
        cookie = r.headers["set-cookie"]
        assert "tw_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # plain HTTP on loopback
        assert client.get("/review").status_code == 200


def test_the_cookie_is_secure_behind_a_tls_proxy(live_ui):
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (forwarded_allow_ips), like a local proxy.
    with live_ui.browser_client() as client:
        r = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "Secure" in r.headers["set-cookie"]


def test_a_wrong_password_is_refused_and_an_open_redirect_is_not_followed(live_ui):
    with live_ui.browser_client() as client:
        assert sign_in(client, "oscar", "not-the-password").status_code == 401
        r = sign_in(client, "oscar", PASSWORDS["oscar"][1], next_path="//evil.example/x")
        assert r.status_code == 303 and r.headers["location"] == "/review"


def test_repeated_failures_block_the_login_even_with_the_right_password(live_ui):
    admin, token = live_ui.login("ada")
    name = f"carl{uuid.uuid4().hex[:6]}"
    created = admin.post(
        "/admin/users",
        data={
            "username": name,
            "role": "reviewer",
            "password": "carl-password-long",
            "csrf_token": token,
        },
    )
    assert created.status_code == 303
    with live_ui.browser_client() as client:
        for _ in range(live_ui.settings.login_max_failures):
            assert sign_in(client, name, "wrong password!").status_code == 401
        blocked = sign_in(client, name, "carl-password-long")
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        assert "uid" not in client.cookies.get("tw_session", "")
    with psycopg.connect(live_ui.database_url) as conn:
        failed = conn.execute(
            "SELECT actor, actor_role, details::text FROM audit_log "
            "WHERE action = 'auth.login_failed' AND target = %s",
            (name,),
        ).fetchall()
    # Each failure is audited (the blocked attempt is not: the limit bounds the log's growth),
    # with the client's address and never the password tried.
    assert len(failed) == live_ui.settings.login_max_failures
    assert {(actor, role) for actor, role, _ in failed} == {("anonymous", "anonymous")}
    assert all('"client"' in d and "wrong password" not in d for _, _, d in failed)


def test_ui_responses_carry_a_strict_content_security_policy(live_ui):
    with live_ui.browser_client() as client:
        r = client.get("/login")
        for key, value in HEADERS.items():
            assert r.headers[key] == value
        assert "'unsafe-inline'" not in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-store"
        static = client.get("/ui/static/vendor/htmx/htmx.min.js")
        assert static.status_code == 200 and static.headers["x-content-type-options"] == "nosniff"
    with live_ui.api() as api:  # the JSON API keeps its own headers
        assert "content-security-policy" not in api.get("/health").headers


def test_posts_without_the_session_csrf_token_are_refused(live_ui):
    client, token = live_ui.login("oscar")
    form = {"kind": "global", "state": "on", "reason": "csrf test", "confirm": "yes"}
    assert client.post("/ops/switches", data=form).status_code == 403
    assert client.post("/ops/switches", data={**form, "csrf_token": "x" * 43}).status_code == 403
    other, other_token = live_ui.login("ada")  # another session's token is no good either
    assert client.post("/ops/switches", data={**form, "csrf_token": other_token}).status_code == 403
    with psycopg.connect(live_ui.database_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM audit_log WHERE details->>'reason' = 'csrf test'"
        ).fetchone() == (0,)


def test_the_htmx_header_carries_the_csrf_token(live_ui):
    client, token = live_ui.login("oscar")
    r = client.post(
        "/ops/switches",
        data={"kind": "channel", "value": "fax", "state": "on", "reason": "header test"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert r.status_code == 200 and "switch-confirm" in r.text  # the confirmation step


def test_roles_are_ordered_reviewer_operator_admin(live_ui):
    reviewer, _ = live_ui.login("rita")
    operator, _ = live_ui.login("oscar")
    admin, _ = live_ui.login("ada")
    assert [reviewer.get(p).status_code for p in ("/review", "/ops", "/admin/users")] == [
        200,
        403,
        403,
    ]
    assert [operator.get(p).status_code for p in ("/ops", "/ops/audit", "/admin/users")] == [
        200,
        200,
        403,
    ]
    assert [admin.get(p).status_code for p in ("/ops", "/admin/users")] == [200, 200]


def test_disabling_a_user_ends_their_session(live_ui):
    admin, token = live_ui.login("ada")
    name = f"dora{uuid.uuid4().hex[:6]}"
    admin.post(
        "/admin/users",
        data={
            "username": name,
            "role": "operator",
            "password": "dora-password-long",
            "csrf_token": token,
        },
    )
    with live_ui.browser_client() as dora:
        assert sign_in(dora, name, "dora-password-long").status_code == 303
        assert dora.get("/ops").status_code == 200
        r = admin.post(f"/admin/users/{name}/disable", data={"csrf_token": token})
        assert r.status_code == 303
        assert dora.get("/ops").status_code == 303  # back to the login page
    with psycopg.connect(live_ui.database_url) as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit_log WHERE target = %s ORDER BY id", (name,)
            )
        ]
    assert actions == ["user.create", "auth.login", "user.disable"]


def test_signing_out_forgets_the_session(live_ui):
    client, token = live_ui.login("rita")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/review").status_code == 303


def test_signing_in_starts_a_new_session_so_a_planted_one_stays_anonymous(live_ui):
    # Session fixation: an attacker plants the cookie of a session they started (and its CSRF
    # token) in the victim's browser; after the victim signs in, that cookie must not be signed
    # in, and the planted token must not pass for the victim's.
    with live_ui.browser_client() as victim:
        planted_page = victim.get("/login")
        planted_cookie = victim.cookies.get("tw_session")
        planted_token = csrf_of(planted_page.text)
        assert planted_cookie
        assert sign_in(victim, "rita", PASSWORDS["rita"][1]).status_code == 303
        assert victim.cookies.get("tw_session") != planted_cookie
        assert victim.get("/review").status_code == 200
        refused = victim.post("/logout", data={"csrf_token": planted_token})
        assert refused.status_code == 403
    with live_ui.browser_client() as attacker:
        attacker.cookies.set("tw_session", planted_cookie)
        assert attacker.get("/review").status_code == 303  # still only the login page
