"""The review UI's read queries. Writes go through ``agent`` services and repositories; views
reach both only through :mod:`review_ui.services`."""
