"""The score of a random guess that matches the class distribution (a "stratified" guess), the floor a board
is read against, computed from the test set's own class counts rather than taken as 1/K.

A stratified guess predicts class c with probability p_c = n_c / N, independently of the truth. Its expected
recall of every class c is p_c, so its expected UAR is exactly 1/K, and its expected ACC is sum p_c^2 (far
above 1/K on a skewed test set: the majority rule's ACC looks good for the same reason). Its UF1 is a ratio of
random counts with no closed form: below 1/K, the more so the smaller the test set (0.129 for K = 7 on the
19 clips of the synthetic DFME test_B board), so its expectation is estimated by simulation (each class's row of
the confusion matrix a multinomial draw), which the closed forms check.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from harness.scoring.metrics import DEFAULT_METRICS, summary

DEFAULT_DRAWS = 4000
DEFAULT_SEED = 20240602


def stratified_guess(counts: Sequence[int], metrics: Sequence[str] = DEFAULT_METRICS, draws: int = DEFAULT_DRAWS,
                     seed: int = DEFAULT_SEED) -> dict[str, float]:
    """Expected value of each metric for a stratified guess on a test set with these class counts (K fixed:
    a class with no test sample is never guessed and still counts in the means)."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return {m: 0.0 for m in metrics}
    p = counts / total
    rng = np.random.default_rng(seed)
    cm = np.stack([rng.multinomial(int(n), p, size=draws) for n in counts], axis=1)   # (draws, K, K)
    return {m: float(v.mean()) for m, v in summary(cm, metrics).items()}
