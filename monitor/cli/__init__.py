"""The monitor's CLI layer: commands that ``monitor`` adds to the ``ticketwatch`` CLI.

``worker``, ``beat`` and ``monitor compute/backfill`` (:mod:`monitor.cli.commands`);
``monitor rebaseline/status`` (:mod:`monitor.cli.reference`); ``monitor rejudge``
(:mod:`monitor.cli.rejudge`). Commands own their transaction
and call the services and storage layers below; nothing below imports from here.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root app."""
    from monitor.cli import commands, reference, rejudge

    app.command()(commands.worker)
    app.command()(commands.beat)
    reference.register(commands.monitor_app)
    rejudge.register(commands.monitor_app)
    app.add_typer(commands.monitor_app, name="monitor")
