"""The score report: point values, 95% subject-bootstrap intervals, per-class numbers and confusion matrices.

One dict shape serves `harness score --json`, the store and the leaderboard, so numbers never get re-derived
differently in two places. Stdlib + numpy only, like metrics.py and bootstrap.py: the Codabench export packages
them into its scoring program (terminal rendering lives in render.py).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from harness.scoring.bootstrap import DEFAULT_DRAWS, DEFAULT_SEED, bootstrap_ci, point_scores
from harness.scoring.metrics import DEFAULT_METRICS, confusion, per_class


def build_report(classes: Sequence[str], y_true: np.ndarray, y_preds: Sequence[np.ndarray], groups: np.ndarray,
                 draws: int = DEFAULT_DRAWS, boot_seed: int = DEFAULT_SEED, seeds: Sequence[int] | None = None,
                 metrics: Sequence[str] = DEFAULT_METRICS) -> dict:
    """Score predictions pooled over all folds (one array per seed, aligned with `y_true`) on `metrics` (the
    protocol's, in its order)."""
    k = len(classes)
    y_true = np.asarray(y_true, dtype=np.int64)
    preds = [np.asarray(p, dtype=np.int64) for p in y_preds]
    metrics = tuple(metrics)
    points = point_scores(y_true, preds, k, metrics)
    ci = bootstrap_ci(y_true, preds, np.asarray(groups), k, draws=draws, seed=boot_seed, metrics=metrics)
    cms = [confusion(y_true, p, k) for p in preds]
    pcs = [per_class(cm) for cm in cms]
    per_cls = [{"class": c,
                **{m: float(np.mean([pc[m][i] for pc in pcs])) for m in ("precision", "recall", "f1")},
                "support": int(cms[0][i].sum())} for i, c in enumerate(classes)]
    return {
        "classes": list(classes),
        "n_samples": int(len(y_true)),
        "n_subjects": int(len(np.unique(groups))),
        "n_seeds": len(preds),
        "seeds": list(seeds) if seeds is not None else list(range(len(preds))),
        "metrics": {m: {"value": points[m]["mean"], "ci": ci[m].as_list(), "std": points[m]["std"],
                        "per_seed": points[m]["per_seed"]} for m in metrics},
        "per_class": per_cls,
        "confusion": [cm.astype(int).tolist() for cm in cms],
        "never_predicted": [c for i, c in enumerate(classes) if all(cm[:, i].sum() == 0 for cm in cms)],
        "absent": [c for i, c in enumerate(classes) if cms[0][i].sum() == 0],
        "bootstrap": {"unit": "subject", "draws": draws, "seed": boot_seed, "level": 0.95},
        "pooled_over_folds": True,
    }
