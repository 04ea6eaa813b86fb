"""Benchmarks: each prints its figures (ratios against a baseline measured in the same run)."""
