"""Drift monitor: Celery workers computing calibrated signals per window and segment."""
