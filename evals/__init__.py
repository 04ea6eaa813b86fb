"""Evals: golden sets, regression gate, drift-scenario replays, benchmarks."""
