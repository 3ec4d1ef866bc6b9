"""Is A better than B? Paired tests of two systems scored on the same test set, subject by subject.

Both tests work on per-subject confusion matrices (one K x K matrix per subject, system and seed), so they
need no labels beyond what a score report stores, and every metric is recomputed on the *pooled* matrices of a
draw, exactly as the board computes it:
- a paired bootstrap over subjects: resample subjects with replacement, pool both systems' matrices of the
  same draw, take the difference of the metrics; the 2.5 / 97.5 percentiles give the 95% interval of the
  difference (samples of one subject are not independent, so subjects are the unit, as for the board's CIs);
- a paired permutation test: under H0 (the two systems are exchangeable), swapping A's and B's predictions of
  a subject changes nothing; each permutation swaps a random half of the subjects, and the two-sided p-value
  is the share of permutations whose |difference| reaches the observed one ((1 + hits) / (1 + permutations)).

With several seeds, a system's metric is the mean over its seeds of the pooled metric (the board's number);
the permutation swaps all seeds of a subject at once, which needs the same number of seeds on both sides, so
systems with different seed counts are compared on their seed-averaged matrices (said in `method`).
Stdlib + numpy only, like the rest of harness/scoring.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from harness.scoring.bootstrap import resample_weights
from harness.scoring.metrics import DEFAULT_METRICS, summary

DEFAULT_DRAWS = 2000
DEFAULT_PERMUTATIONS = 2000
DEFAULT_SEED = 20240601   # fixed and reported, so a test is reproducible
ALPHA = 0.05


@dataclass(frozen=True)
class Paired:
    """Two systems' per-subject matrices on the same subjects: (R, G, K, K) each."""

    a: np.ndarray
    b: np.ndarray
    method: str

    @classmethod
    def of(cls, a: np.ndarray, b: np.ndarray) -> "Paired":
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a.ndim == 3:
            a = a[None]
        if b.ndim == 3:
            b = b[None]
        if a.shape[1:] != b.shape[1:]:
            raise ValueError(f"the two systems' per-subject matrices differ in shape: {a.shape[1:]} vs {b.shape[1:]}")
        if a.shape[0] == b.shape[0]:
            return cls(a, b, f"{a.shape[0]} seed(s) each, metrics averaged over seeds")
        return cls(a.mean(axis=0, keepdims=True), b.mean(axis=0, keepdims=True),
                   f"{a.shape[0]} vs {b.shape[0]} seeds: each system's matrices averaged over its seeds")


def _metric(pooled: np.ndarray, metrics: Sequence[str]) -> dict[str, np.ndarray]:
    """(..., R, K, K) pooled matrices -> metric (...) averaged over seeds."""
    return {m: v.mean(axis=-1) for m, v in summary(pooled, metrics).items()}


def observed_delta(pair: Paired, metrics: Sequence[str] = DEFAULT_METRICS) -> dict[str, float]:
    a, b = _metric(pair.a.sum(axis=1), metrics), _metric(pair.b.sum(axis=1), metrics)
    return {m: float(a[m] - b[m]) for m in metrics}


def bootstrap_delta(pair: Paired, metrics: Sequence[str] = DEFAULT_METRICS, draws: int = DEFAULT_DRAWS,
                    seed: int = DEFAULT_SEED, level: float = 0.95) -> dict[str, list[float]]:
    """The `level` interval of metric(A) - metric(B) over subject resamples (the same draw for both)."""
    n_groups = pair.a.shape[1]
    if n_groups < 2 or draws <= 0:
        d = observed_delta(pair, metrics)
        return {m: [d[m], d[m]] for m in metrics}
    weights = resample_weights(n_groups, draws, seed)
    a = _metric(np.einsum("dg,rgij->drij", weights, pair.a), metrics)
    b = _metric(np.einsum("dg,rgij->drij", weights, pair.b), metrics)
    alpha = (1 - level) / 2
    return {m: [float(np.quantile(a[m] - b[m], alpha)), float(np.quantile(a[m] - b[m], 1 - alpha))]
            for m in metrics}


def permutation_p(pair: Paired, metrics: Sequence[str] = DEFAULT_METRICS,
                  permutations: int = DEFAULT_PERMUTATIONS, seed: int = DEFAULT_SEED) -> dict[str, float]:
    """Two-sided p-values of metric(A) - metric(B) = 0, swapping the systems' predictions per subject."""
    observed = observed_delta(pair, metrics)
    n_groups = pair.a.shape[1]
    rng = np.random.default_rng(seed + 1)
    swap = rng.integers(0, 2, size=(permutations, n_groups)).astype(float)   # 1: this subject's A and B swap
    total_a, total_b = pair.a.sum(axis=1), pair.b.sum(axis=1)
    moved = np.einsum("pg,rgij->prij", swap, pair.b - pair.a)               # what the swapped subjects change
    a = _metric(total_a + moved, metrics)
    b = _metric(total_b - moved, metrics)
    out = {}
    for m in metrics:
        hits = np.abs(a[m] - b[m]) >= abs(observed[m]) - 1e-12
        out[m] = float((1 + hits.sum()) / (1 + permutations))
    return out


def compare(pair: Paired, metrics: Sequence[str] = DEFAULT_METRICS, draws: int = DEFAULT_DRAWS,
            permutations: int = DEFAULT_PERMUTATIONS, seed: int = DEFAULT_SEED) -> dict:
    """Δ = A - B per metric: observed value, 95% paired-bootstrap interval, permutation p-value."""
    delta, ci = observed_delta(pair, metrics), bootstrap_delta(pair, metrics, draws, seed)
    p = permutation_p(pair, metrics, permutations, seed)
    return {
        "delta": {m: {"value": delta[m], "ci": ci[m], "p": p[m]} for m in metrics},
        "n_subjects": int(pair.a.shape[1]),
        "method": {"bootstrap": {"unit": "subject", "draws": draws, "level": 0.95, "paired": True},
                   "permutation": {"unit": "subject", "permutations": permutations, "two_sided": True},
                   "seed": seed, "seeds": pair.method},
    }


def align(subjects_a: Sequence[str], matrices_a: np.ndarray, subjects_b: Sequence[str],
          matrices_b: np.ndarray) -> Paired:
    """Pair two systems' per-subject matrices by subject name; their subjects must be the same set."""
    if sorted(subjects_a) != sorted(subjects_b):
        only_a = sorted(set(subjects_a) - set(subjects_b))
        only_b = sorted(set(subjects_b) - set(subjects_a))
        raise ValueError(f"the two systems were tested on different subjects (only in A: {only_a[:3]}, "
                         f"only in B: {only_b[:3]})")
    order_b = {s: i for i, s in enumerate(subjects_b)}
    idx = [order_b[s] for s in subjects_a]
    return Paired.of(np.asarray(matrices_a), np.asarray(matrices_b)[:, idx])
