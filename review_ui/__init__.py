"""Review UI and operator console (Jinja2 + htmx, served by the API process)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Entry point of the ``ticketwatch.web`` group: mount the UI into the API app."""
    from review_ui.app import install as _install

    _install(app)
