"""The agent's CLI commands, one module per group; :mod:`agent.cli` assembles them."""
