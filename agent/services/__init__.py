"""Services: what endpoints, tasks and CLI commands call (never a repository directly). They
hold no SQL and never commit; the one exception is the bulk history loader, which commits each
chunk (:mod:`agent.services.history_loader`). ``tests/test_layers.py`` checks both rules."""
