"""All of the agent's SQL and DDL lives here, one module per table group: ``tickets``,
``decisions`` (with their trace spans), ``history`` (outcomes, retrieval, bulk loading),
``catalog`` (taxonomies, versions, labels), ``operations`` (switches, boosts, audit, alerts),
``reviews``, ``tenants``, ``users``; ``status`` asks whether the database answers.

Functions take an ORM session, a connection of the per-ticket psycopg pool (autocommit: each
statement is atomic on its own; see :func:`agent.db.make_pool`) or a sync psycopg connection
for bulk work (:func:`agent.repositories.history.connect`). None of them commits: the
boundary (request, task, command) owns the transaction. ``tests/test_layers.py`` fails on
``execute(``, ``text(`` or ``commit(`` anywhere else but its listed exceptions.
"""
