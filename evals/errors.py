"""Errors of the evals that a person can fix (the CLI prints them and exits 2)."""


class EvalSetupError(ValueError):
    """An eval cannot start as asked: a missing golden set or version, a mismatch. The
    message says what to do."""
