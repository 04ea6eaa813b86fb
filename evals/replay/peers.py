"""The peers the composite is compared with, on the very same windows.

* Evidently's default embedding-drift check: what ``Report([EmbeddingsDrift(...)])`` runs
  when no method is given, ``model(bootstrap=<reference under 1,000 rows>)``: a classifier
  told to separate reference from current embeddings, drift when its ROC AUC on a held-out
  half exceeds 0.55 (or, with bootstrap, the 95th percentile of random AUCs). It is called
  directly, as the Report's metric calls it: the Report itself also fits a t-SNE for its plot
  (about 20 s a window here), which changes nothing in the verdict.
* Per-class KS on class probabilities with Bonferroni (BBSD-KS, the best detector of
  Rabanser et al., "Failing Loudly", 2019): drift when min_k p_k * K < alpha, at the same
  per-window false-alarm rate as the monitor's composite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

EVIDENTLY_DEFAULT = "evidently_default"
KS_PROBS = "ks_probabilities"
EXACT_KS_MAX_N = 1000


@dataclass(frozen=True)
class PeerVerdict:
    """A peer's score on one window and whether it calls drift."""

    detector: str
    value: float
    drifted: bool
    details: dict[str, Any]


def evidently_version() -> str | None:
    try:
        import evidently
    except ImportError:
        return None
    return str(evidently.__version__)


def _frame(x: NDArray[np.floating[Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame(
        np.asarray(x, dtype=np.float64), columns=[f"e{i}" for i in range(x.shape[1])]
    )


def evidently_default(
    reference: NDArray[np.floating[Any]], current: NDArray[np.floating[Any]]
) -> PeerVerdict:
    """Evidently's default embedding drift (see the module docstring): ROC AUC and verdict."""
    from evidently.legacy.metrics.data_drift.embedding_drift_methods import model

    method = model(bootstrap=reference.shape[0] < 1000)
    score, drifted, name = method(_frame(current), _frame(reference))
    return PeerVerdict(
        EVIDENTLY_DEFAULT,
        float(score),
        bool(drifted),
        {"method": name, "bootstrap": bool(method.bootstrap), "threshold": method.threshold},
    )


def ks_probabilities(
    reference: NDArray[np.floating[Any]], current: NDArray[np.floating[Any]], *, alpha: float
) -> PeerVerdict:
    """Per-class two-sample KS on class probabilities, Bonferroni over the K classes."""
    if reference.shape[1] != current.shape[1]:
        raise ValueError("reference and current have different numbers of classes")
    k = reference.shape[1]
    method = "asymp" if max(len(reference), len(current)) > EXACT_KS_MAX_N else "auto"
    results = [stats.ks_2samp(reference[:, c], current[:, c], method=method) for c in range(k)]
    p_values = np.array([float(r.pvalue) for r in results])
    adjusted = float(min(1.0, k * p_values.min()))
    worst = int(np.argmin(p_values))
    return PeerVerdict(
        KS_PROBS,
        adjusted,
        adjusted < alpha,
        {
            "alpha": alpha,
            "classes": k,
            "worst_class": worst,
            "max_ks": float(max(float(r.statistic) for r in results)),
        },
    )


def judge_window(
    *,
    reference_embeddings: NDArray[np.floating[Any]],
    current_embeddings: NDArray[np.floating[Any]],
    reference_probs: NDArray[np.floating[Any]],
    current_probs: NDArray[np.floating[Any]],
    alpha: float,
    with_evidently: bool = True,
) -> list[PeerVerdict]:
    """Both peers on one window."""
    verdicts = [ks_probabilities(reference_probs, current_probs, alpha=alpha)]
    if with_evidently:
        verdicts.append(evidently_default(reference_embeddings, current_embeddings))
    return verdicts
