"""Judging a candidate version against production: pure statistics (intervals, an always-valid
sequential test) and the figures of a comparison. No database or framework here."""
