"""Calibrations cached in Postgres: computed once per reference, segment and size bucket.

A calibration's bootstrap replicates (:mod:`monitor.stats.calibration`) do not depend on the
false-alarm rate, so one row serves every window size; thresholds at a window's own rate are
derived from the stored null values on use. The row is keyed by the bucket of the window's
ticket count (:func:`monitor.stats.windows.n_bucket`) and calibrated at the bucket's lower edge.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from monitor.signals import all_signals
from monitor.stats.calibration import Calibration, calibrate, calibrate_signal
from monitor.stats.jsonable import jsonable
from monitor.stats.samples import WindowData
from monitor.stats.windows import n_bucket
from monitor.storage import repository

SEED = 0


def signature(reference: WindowData, replicates: int) -> str:
    """What a calibration depends on besides its key: a change means recomputing it."""
    sample = reference.sample
    parts = {
        "replicates": replicates,
        "signals": sorted(all_signals()),
        # an exact signal's replicates hold p-values, not values: a change means recomputing
        "exact": sorted(name for name, spec in all_signals().items() if spec.exact is not None),
        "n": sample.n,
        "fields": sorted(sample.arrays()),
        "reviewed": int(sample.reviewed.sum()) if sample.reviewed is not None else 0,
        "labelled": int((sample.true_label >= 0).sum()) if sample.true_label is not None else 0,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def calibration_for(
    session: Session,
    *,
    reference_id: uuid.UUID,
    segment: str,
    reference: WindowData,
    n_current: int,
    alpha: float,
    replicates: int,
) -> tuple[Calibration, bool]:
    """The calibration for a window of ``n_current`` tickets at ``alpha``, and whether it was
    cached. Two workers never compute the same one: the second waits and reuses it."""
    floor = max(spec.min_current for spec in all_signals().values())
    bucket = n_bucket(n_current, floor=floor)
    sig = signature(reference, replicates)
    row = repository.calibration_row(
        session, reference_id=reference_id, segment=segment, n_bucket=bucket
    )
    if row is None or row.signature != sig:
        repository.lock(session, f"monitor:calibration:{reference_id}:{segment}:{bucket}")
        row = repository.calibration_row(
            session, reference_id=reference_id, segment=segment, n_bucket=bucket
        )
    if row is not None and row.signature == sig:
        return from_stored(row.null_values, row.offsets, n_current=bucket, alpha=alpha), True
    started = time.perf_counter()
    fresh = calibrate(
        reference.sample, n_current=bucket, alpha=alpha, replicates=replicates, rng=SEED
    )
    repository.save_calibration(
        session,
        reference_id=reference_id,
        segment=segment,
        n_bucket=bucket,
        n_reference=reference.n,
        replicates=fresh.replicates,
        signature=sig,
        null_values={k: _floats(v) for k, v in fresh.null_values.items()},
        offsets={k: _float(c.offset) for k, c in fresh.signals.items()},
        thresholds=jsonable(fresh.summary()),
        seconds=time.perf_counter() - started,
    )
    return fresh, False


def from_stored(
    null_values: dict[str, Any], offsets: dict[str, Any], *, n_current: int, alpha: float
) -> Calibration:
    """Rebuild a calibration (nulls, thresholds at ``alpha``) from its stored values."""
    specs = all_signals()
    values = {
        name: np.array([np.nan if v is None else float(v) for v in vals], dtype=np.float64)
        for name, vals in null_values.items()
        if name in specs
    }
    signals = {
        name: calibrate_signal(specs[name], vals, alpha, _offset(offsets.get(name)))
        for name, vals in values.items()
    }
    replicates = len(next(iter(values.values()))) if values else 0
    return Calibration(n_current, alpha, replicates, signals, values)


def _offset(value: Any) -> float:
    return math.nan if value is None else float(value)


def _float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _floats(values: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values.tolist()]
