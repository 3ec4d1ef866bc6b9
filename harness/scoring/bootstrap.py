"""Confidence intervals by bootstrap over subjects.

Samples of one subject are not independent (same face, same session), so resampling samples would give
intervals that are too narrow. We resample subjects with replacement, pool their confusion matrices and
recompute the metrics; the 2.5 / 97.5 percentiles give the 95% interval.

With several seeds of one system, each draw scores every seed on the same resampled subjects and averages
over seeds, so the interval is that of the seed-averaged metric (the number the leaderboard shows).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from harness.scoring.metrics import DEFAULT_METRICS, confusion, summary

DEFAULT_DRAWS = 2000
DEFAULT_SEED = 20240530  # fixed and recorded, so a CI is reproducible


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def as_list(self) -> list[float]:
        return [self.low, self.high]


def per_group_confusion(y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """(G, K, K) confusion matrices, one per group, groups in sorted order."""
    _, g = np.unique(groups, return_inverse=True)
    n_groups = int(g.max()) + 1 if g.size else 0
    flat = np.bincount(g * k * k + np.asarray(y_true) * k + np.asarray(y_pred), minlength=n_groups * k * k)
    return flat.reshape(n_groups, k, k)


def resample_weights(n_groups: int, draws: int, seed: int) -> np.ndarray:
    """(draws, G) multiplicities of each group in `draws` resamples of the groups with replacement: pooling a
    draw is then one weighted sum of the per-group matrices (shared by the board's CIs and the paired test)."""
    picks = np.random.default_rng(seed).integers(0, n_groups, size=(draws, n_groups))
    weights = np.zeros((draws, n_groups))
    np.add.at(weights, (np.repeat(np.arange(draws), n_groups), picks.ravel()), 1.0)
    return weights


def bootstrap_ci(y_true: np.ndarray, y_preds: list[np.ndarray], groups: np.ndarray, k: int,
                 draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED, level: float = 0.95,
                 metrics: Sequence[str] = DEFAULT_METRICS) -> dict[str, Interval]:
    """95% intervals of the metrics (averaged over the seeds in `y_preds`), resampling `groups`."""
    per_seed = np.stack([per_group_confusion(y_true, p, groups, k) for p in y_preds])  # (R, G, K, K)
    n_groups = per_seed.shape[1]
    if n_groups < 2 or draws <= 0:
        point = {m: float(v.mean()) for m, v in summary(per_seed.sum(axis=1), metrics).items()}
        return {m: Interval(v, v) for m, v in point.items()}
    weights = resample_weights(n_groups, draws, seed)
    pooled = np.einsum("bg,rgij->brij", weights, per_seed)  # (B, R, K, K)
    stats = summary(pooled, metrics)
    alpha = (1 - level) / 2
    return {m: Interval(float(np.quantile(v.mean(axis=1), alpha)), float(np.quantile(v.mean(axis=1), 1 - alpha)))
            for m, v in stats.items()}


def point_scores(y_true: np.ndarray, y_preds: list[np.ndarray], k: int,
                 metrics: Sequence[str] = DEFAULT_METRICS) -> dict[str, dict[str, float]]:
    """Mean and standard deviation over seeds of each metric (std 0 for a single seed)."""
    values: dict[str, list[float]] = {m: [] for m in metrics}
    for p in y_preds:
        for m, v in summary(confusion(y_true, p, k), metrics).items():
            values[m].append(float(v))
    return {m: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                "per_seed": v} for m, v in values.items()}
