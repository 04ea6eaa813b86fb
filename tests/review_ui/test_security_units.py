"""Session cookies, secrets, CSRF tokens, passwords and the login limiter, one by one."""

from __future__ import annotations

import os
import stat

import pytest
from redis.asyncio import Redis

from agent.config import Settings
from review_ui.security.csrf import csrf_token, csrf_valid, rotate_csrf_token
from review_ui.security.passwords import WeakPasswordError, hash_password, verify_password
from review_ui.security.ratelimit import LoginLimiter, LoginLimits
from review_ui.security.secret import session_secret
from review_ui.security.sessions import SessionCookieMiddleware


def test_the_session_secret_is_generated_once_and_private(tmp_path):
    settings = Settings(data_dir=tmp_path, embedded_autostart=False)
    first = session_secret(settings)
    assert len(first) >= 48 and session_secret(settings) == first
    mode = stat.S_IMODE(os.stat(tmp_path / "session_secret").st_mode)
    assert mode == 0o600
    configured = Settings(data_dir=tmp_path, session_secret="x" * 40, embedded_autostart=False)
    assert session_secret(configured) == "x" * 40


def _middleware() -> SessionCookieMiddleware:
    return SessionCookieMiddleware(
        lambda *a: None, secret="s" * 40, max_age_s=60, https_only=False, path_prefixes=("/",)
    )


def test_a_tampered_or_foreign_session_cookie_is_ignored():
    mw = _middleware()
    scope = {"session": {"uid": "u1"}, "scheme": "http"}
    cookie = mw._cookie(scope).split(";")[0].split("=", 1)[1]
    headers = [(b"cookie", f"tw_session={cookie}".encode())]
    assert mw._load({"headers": headers}) == {"uid": "u1"}
    tampered = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    assert mw._load({"headers": [(b"cookie", f"tw_session={tampered}".encode())]}) == {}
    other = SessionCookieMiddleware(
        lambda *a: None, secret="t" * 40, max_age_s=60, https_only=False, path_prefixes=("/",)
    )
    assert other._load({"headers": headers}) == {}


def test_the_cookie_is_secure_when_forced_or_over_https():
    mw = _middleware()
    assert "Secure" not in mw._cookie({"session": {"a": 1}, "scheme": "http"})
    assert "Secure" in mw._cookie({"session": {"a": 1}, "scheme": "https"})
    mw.https_only = True
    assert "Secure" in mw._cookie({"session": {"a": 1}, "scheme": "http"})
    assert "Max-Age=0" in mw._cookie({"session": {}, "scheme": "http"})


def test_csrf_tokens_belong_to_their_session_and_rotate_on_login():
    session: dict = {}
    token = csrf_token(session)
    assert csrf_valid(session, token) and not csrf_valid(session, token[:-1] + "x")
    assert not csrf_valid(session, None) and not csrf_valid({}, token)
    assert rotate_csrf_token(session) != token and not csrf_valid(session, token)


def test_passwords_are_argon2id_and_short_ones_are_refused():
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "correct horse battery!")
    assert not verify_password(None, "anything at all")
    with pytest.raises(WeakPasswordError):
        hash_password("short")


LIMITS = LoginLimits(max_failures=2, max_failures_per_ip=3, window_s=300)


async def test_the_limiter_counts_failures_per_user_and_per_client(redis_url):
    redis = Redis.from_url(redis_url)
    limiter = LoginLimiter(redis, LIMITS)
    for _ in range(2):
        assert not await limiter.blocked("Eve", "10.0.0.1")
        await limiter.record_failure("eve", "10.0.0.1")
    assert await limiter.blocked("EVE", "10.0.0.1")
    assert not await limiter.blocked("eve", "10.0.0.2")  # another client
    await limiter.record_failure("mallory", "10.0.0.1")
    assert await limiter.blocked("trent", "10.0.0.1")  # the client's own limit
    await limiter.reset("eve", "10.0.0.2")
    await redis.aclose()


async def test_without_redis_the_limiter_counts_in_memory():
    unreachable = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    limiter = LoginLimiter(unreachable, LIMITS)
    await limiter.record_failure("eve", "10.0.0.1")
    await limiter.record_failure("eve", "10.0.0.1")
    assert await limiter.blocked("eve", "10.0.0.1")
    await limiter.reset("eve", "10.0.0.1")
    assert not await limiter.blocked("eve", "10.0.0.1")
    await unreachable.aclose()
