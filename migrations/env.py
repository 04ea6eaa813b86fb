"""Alembic environment: the database URL comes from ticketwatch's settings (or the caller)."""

from __future__ import annotations

from alembic import context
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, pool, text

from agent.config import get_settings
from agent.db import sqlalchemy_url
from agent.embedded import resolve_database_url
from agent.models import Base
from migrations import classifier_kinds

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    # A caller (tests, `ticketwatch migrate`) may hand over the URL explicitly.
    return config.attributes.get("database_url") or resolve_database_url(get_settings())


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(sqlalchemy_url(_url()), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


# Any fixed key: concurrent `ticketwatch migrate` runs (API replicas, compose) wait in turn.
MIGRATION_LOCK_KEY = 0x7469636B6574  # "ticket"


def _run(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
    connection.commit()
    try:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
            if _at_head():  # classifier kinds are plug-ins: keep the database's CHECK in step
                changed = classifier_kinds.sync(connection)
                if changed:
                    config.attributes.setdefault("notes", []).append(changed)
        connection.commit()
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
        connection.commit()


def _at_head() -> bool:
    """Whether the database now stands at the newest revision."""
    current = set(context.get_context().get_current_heads())
    return current == set(ScriptDirectory.from_config(config).get_heads())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
