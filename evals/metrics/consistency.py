"""pass^k and consistency: the same case run k times.

pass^k (tau-bench) is the chance that k runs of a case are *all* correct, averaged over
cases. With n >= k runs of a case of which c were correct, C(c, k) / C(n, k) estimates it
without bias; with n = k it is 1 when every run was correct, else 0.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from math import comb


def pass_hat_k(correct: Sequence[Sequence[bool]], k: int) -> float:
    """Mean over cases of C(c, k) / C(n, k), each case given as its runs' correctness."""
    if k < 1:
        raise ValueError("k must be at least 1")
    if not correct:
        return 0.0
    total = 0.0
    for runs in correct:
        n, c = len(runs), sum(bool(r) for r in runs)
        if n < k:
            raise ValueError(f"a case has {n} runs, fewer than k={k}")
        total += comb(c, k) / comb(n, k)
    return total / len(correct)


def consistency(answers: Sequence[Sequence[Hashable]]) -> float:
    """Share of cases whose runs all gave the same answer (right or wrong)."""
    if not answers:
        return 0.0
    return sum(len(set(runs)) <= 1 for runs in answers) / len(answers)
