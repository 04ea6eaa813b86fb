"""The peers on synthetic windows: each flags a clear shift and stays quiet on none."""

from __future__ import annotations

import numpy as np
import pytest

from evals.bench.synthetic import synthetic_window, topic_centres
from evals.replay.peers import (
    EVIDENTLY_DEFAULT,
    KS_PROBS,
    evidently_default,
    judge_window,
    ks_probabilities,
)


def windows(
    seed: int, new_share: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    centres = topic_centres(np.random.default_rng(0), 30)
    new = topic_centres(np.random.default_rng(1), 3)
    ref = synthetic_window(np.random.default_rng(seed), n=1500, centres=centres)
    cur = synthetic_window(
        np.random.default_rng(seed + 1),
        n=200,
        centres=centres,
        new_centres=new,
        new_share=new_share,
    )
    assert ref.queue_probs is not None and cur.queue_probs is not None
    assert ref.embeddings is not None and cur.embeddings is not None
    return ref.queue_probs, cur.queue_probs, ref.embeddings, cur.embeddings


def test_ks_on_probabilities_flags_a_shift_and_not_the_same_traffic() -> None:
    ref_p, cur_p, _, _ = windows(10)
    quiet = ks_probabilities(ref_p, cur_p, alpha=0.01)
    assert not quiet.drifted and quiet.value > 0.01
    ref_p, cur_p, _, _ = windows(20, new_share=0.5)
    loud = ks_probabilities(ref_p, cur_p, alpha=0.01)
    assert loud.drifted and loud.value < 1e-4
    assert loud.details["classes"] == ref_p.shape[1]


def test_ks_applies_bonferroni_over_the_classes() -> None:
    rng = np.random.default_rng(5)
    ref = rng.dirichlet(np.ones(4), size=300)
    cur = ref.copy()
    cur[:, 0] = np.clip(cur[:, 0] + 0.08, 0, 1)
    verdict = ks_probabilities(ref, cur, alpha=0.05)
    from scipy import stats

    raw = stats.ks_2samp(ref[:, 0], cur[:, 0]).pvalue
    assert verdict.value == pytest.approx(min(1.0, 4 * raw), rel=1e-6)
    with pytest.raises(ValueError, match="numbers of classes"):
        ks_probabilities(ref, cur[:, :3], alpha=0.05)


def test_evidently_default_flags_new_content_and_not_the_same_traffic() -> None:
    _, _, ref_e, cur_e = windows(30)
    quiet = evidently_default(ref_e, cur_e)
    assert quiet.details == {"method": "model", "bootstrap": False, "threshold": 0.55}
    assert not quiet.drifted
    _, _, ref_e, cur_e = windows(40, new_share=0.8)
    loud = evidently_default(ref_e, cur_e)
    assert loud.drifted and loud.value > 0.7


def test_evidently_bootstraps_below_a_thousand_reference_rows_as_its_report_does() -> None:
    _, _, ref_e, cur_e = windows(50)
    assert evidently_default(ref_e[:600], cur_e).details["bootstrap"] is True


def test_judge_window_runs_both_peers_on_the_same_window() -> None:
    ref_p, cur_p, ref_e, cur_e = windows(60, new_share=0.6)
    verdicts = judge_window(
        reference_embeddings=ref_e,
        current_embeddings=cur_e,
        reference_probs=ref_p,
        current_probs=cur_p,
        alpha=0.001,
    )
    assert [v.detector for v in verdicts] == [KS_PROBS, EVIDENTLY_DEFAULT]
    assert all(v.drifted for v in verdicts)
