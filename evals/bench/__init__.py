"""Benchmarks: each prints its figures, measured against a baseline in the same run."""
