"""Users of the review UI."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import User


async def by_username(session: AsyncSession, username: str) -> User | None:
    stmt = select(User).where(func.lower(User.username) == username.strip().lower())
    return (await session.execute(stmt)).scalar_one_or_none()


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def add(session: AsyncSession, *, username: str, password_hash: str, role: str) -> User:
    row = User(username=username, password_hash=password_hash, role=role)
    session.add(row)
    await session.flush()
    return row


async def list_all(session: AsyncSession) -> list[User]:
    return list((await session.execute(select(User).order_by(User.username))).scalars())


async def set_disabled(session: AsyncSession, user_id: uuid.UUID, at: datetime | None) -> None:
    await session.execute(update(User).where(User.id == user_id).values(disabled_at=at))


async def set_password_hash(session: AsyncSession, user_id: uuid.UUID, password_hash: str) -> None:
    await session.execute(
        update(User).where(User.id == user_id).values(password_hash=password_hash)
    )


async def touch_login(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(update(User).where(User.id == user_id).values(last_login_at=func.now()))
