"""Alembic migrations for the ticketwatch data model."""
