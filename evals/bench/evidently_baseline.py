"""Evidently's embedding drift, called the way its users call it (the benchmark's baseline).

Evidently 0.7 exposes embedding drift in its new API as ``evidently.metrics.EmbeddingsDrift``
(a wrapper over ``evidently.legacy``'s ``EmbeddingsDriftMetric``), run in a ``Report`` over
``Dataset``s whose ``DataDefinition`` names the embedding columns. Its default method is
``model`` (a classifier's ROC AUC); ``mmd`` is ``MMDDriftMethod``: an exact quadratic-time
MMD^2 on an RBF kernel over all rows. The metric also fits a t-SNE of up to 2,500 rows a side
for its plot, which is part of what a Report costs.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray


def available() -> bool:
    try:
        import evidently  # noqa: F401
    except ImportError:
        return False
    return True


def version() -> str:
    import evidently

    return str(evidently.__version__)


def _frame(x: NDArray[np.floating[Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame(x, columns=[f"e{i}" for i in range(x.shape[1])])


def report_seconds(reference: NDArray[np.float32], current: NDArray[np.float32]) -> float:
    """Seconds for a Report with EmbeddingsDrift (default method) on the two embedding sets."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import EmbeddingsDrift

    ref_df, cur_df = _frame(reference), _frame(current)
    definition = DataDefinition(embeddings={"emb": list(ref_df.columns)})
    start = time.perf_counter()
    report = Report([EmbeddingsDrift(embeddings_name="emb")])
    report.run(
        Dataset.from_pandas(cur_df, data_definition=definition),
        Dataset.from_pandas(ref_df, data_definition=definition),
    )
    return time.perf_counter() - start


def mmd_drift(
    reference: NDArray[np.floating[Any]], current: NDArray[np.floating[Any]]
) -> tuple[float, bool, float]:
    """Evidently's ``mmd`` method on the two sets: (MMD^2 score, its drift flag, seconds)."""
    from evidently.metrics.embeddings import MMDDriftMethod

    ref_df, cur_df = _frame(reference), _frame(current)
    start = time.perf_counter()
    score, drifted, _ = MMDDriftMethod()(cur_df, ref_df)
    return float(score), bool(drifted), time.perf_counter() - start
