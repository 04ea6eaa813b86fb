"""The review UI's pages: thin handlers that parse the request, call services (never a
repository: ``tests/test_layers.py`` checks it) inside the request's unit of work, and render."""
