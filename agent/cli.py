"""The ``ticketwatch`` command line.

Commands of the agent live in :mod:`agent.commands`; ``monitor``, ``review_ui`` and ``evals``
add theirs through the ``ticketwatch.cli`` entry-point group (each exposes ``register(app)``),
so that ``agent`` imports none of them.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import typer

from agent.commands import (
    compare_cmd,
    history,
    operators,
    serve,
    services,
    settings_cmd,
    versions_cmd,
)
from agent.commands.taxonomy_cmd import taxonomy_app
from agent.config import get_settings
from agent.datasets.cli import app as datasets_app
from agent.logs import configure_logging

app = typer.Typer(
    name="ticketwatch",
    help="Route support tickets with an LLM agent, and operate it safely.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _setup() -> None:
    configure_logging(get_settings())


app.add_typer(services.app, name="services")
app.command()(services.migrate)
app.add_typer(datasets_app, name="datasets")
app.command()(serve.serve)
app.command()(settings_cmd.settings)
app.command("load-history")(history.load_history_command)
app.add_typer(operators.switch_app, name="switch")
app.add_typer(operators.versions_app, name="versions")
app.add_typer(operators.tenants_app, name="tenants")
app.add_typer(operators.review_app, name="review")
app.add_typer(taxonomy_app, name="taxonomy")
operators.versions_app.command("create")(history.create_version_command)
operators.versions_app.command("show")(versions_cmd.show)
operators.versions_app.command("diff")(versions_cmd.diff)
operators.versions_app.command("export")(versions_cmd.export)
operators.versions_app.command("import")(versions_cmd.import_)
operators.versions_app.command("compare")(compare_cmd.compare)


def _register_plugins() -> None:
    for ep in sorted(entry_points(group="ticketwatch.cli"), key=lambda e: e.name):
        try:
            register = ep.load()
        except Exception as exc:  # a broken plugin must not take the whole CLI down
            print(f"warning: command group {ep.name!r} failed to load: {exc}", file=sys.stderr)
            continue
        register(app)


def _is_core_command(argv: list[str]) -> bool:
    """``argv`` names one of this package's commands (``serve``, ``migrate``, ...): the plugins'
    command groups are not needed, and importing them costs a process a second or two."""
    if len(argv) < 2:
        return False
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    names = {n.replace("_", "-") for n in names}
    names |= {g.name for g in app.registered_groups if g.name}
    return argv[1] in names


def main() -> None:
    """Console-script entry point."""
    if not _is_core_command(sys.argv):
        _register_plugins()
    app()
