"""Drift-scenario replays through the real API and the real monitor, compared with peers."""
