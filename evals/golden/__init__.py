"""Golden datasets: cases, their sources, their content-addressed store, override export."""

from evals.golden.cases import GoldenCase, content_hash, read_golden, write_golden
from evals.golden.store import (
    DEFAULT_GOLDEN,
    BuiltGolden,
    build_golden_set,
    find_golden_set,
    load_cases,
)

__all__ = [
    "DEFAULT_GOLDEN",
    "BuiltGolden",
    "GoldenCase",
    "build_golden_set",
    "content_hash",
    "find_golden_set",
    "load_cases",
    "read_golden",
    "write_golden",
]
