"""Accounts of the review UI: create, disable, authenticate. Changes are audited."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import User
from agent.models.tenancy import ROLES
from agent.repositories import users
from agent.services.operators import Actor, OperatorError, audit
from review_ui.security.passwords import (
    WeakPasswordError,
    hash_password,
    needs_rehash,
    rehash_password,
    verify_password,
)

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{1,99}$")
ROLE_RANK = {"reviewer": 1, "operator": 2, "admin": 3}


@dataclass(frozen=True)
class UserRef:
    """The signed-in person, as the views see them."""

    id: uuid.UUID
    username: str
    role: str

    def can(self, role: str) -> bool:
        """Whether this user holds ``role`` or a higher one (reviewer < operator < admin)."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def actor(self) -> Actor:
        return Actor(name=self.username, role=self.role)

    @classmethod
    def of(cls, user: User) -> UserRef:
        return cls(user.id, user.username, user.role)


async def list_users(session: AsyncSession) -> list[User]:
    """Every account, for admins."""
    return await users.list_all(session)


async def create_user(
    session: AsyncSession, *, username: str, role: str, password: str, actor: Actor
) -> User:
    if not USERNAME.match(username):
        raise OperatorError("usernames are 2-100 letters, digits, '_', '.', '@' or '-'")
    if role not in ROLES:
        raise OperatorError(f"unknown role {role!r}: use {', '.join(ROLES)}")
    if await users.by_username(session, username) is not None:
        raise OperatorError(f"user {username!r} exists already")
    try:
        password_hash = hash_password(password)
    except WeakPasswordError as exc:
        raise OperatorError(str(exc)) from exc
    row = await users.add(session, username=username, password_hash=password_hash, role=role)
    await audit(session, actor, "user.create", username, role=role)
    return row


async def set_user_disabled(
    session: AsyncSession, *, username: str, disabled: bool, actor: Actor
) -> None:
    """Disable (sessions end at their next request) or re-enable an account."""
    row = await users.by_username(session, username)
    if row is None:
        raise OperatorError(f"no user {username!r}")
    await users.set_disabled(session, row.id, datetime.now(UTC) if disabled else None)
    await audit(session, actor, "user.disable" if disabled else "user.enable", row.username)


async def authenticate(session: AsyncSession, *, username: str, password: str) -> UserRef | None:
    """The active user with these credentials, or None (same cost either way)."""
    row = await users.by_username(session, username)
    if not verify_password(row.password_hash if row else None, password):
        return None
    assert row is not None
    if row.disabled_at is not None:
        return None
    if needs_rehash(row.password_hash):
        await users.set_password_hash(session, row.id, rehash_password(password))
    await users.touch_login(session, row.id)
    return UserRef.of(row)


async def active_user(session: AsyncSession, user_id: uuid.UUID) -> UserRef | None:
    row = await users.get(session, user_id)
    if row is None or row.disabled_at is not None:
        return None
    return UserRef.of(row)
