"""The review UI's pages: thin handlers that parse, call one service, and render."""
