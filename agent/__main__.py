"""``python -m agent`` is the ``ticketwatch`` command."""

from agent.cli import main

main()
