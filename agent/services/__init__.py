"""Services: what endpoints, tasks and CLI commands call. They never commit."""
