"""The score report: point values, 95% subject-bootstrap intervals, per-class numbers and confusion matrices.

One dict shape serves `harness score --json`, the store and the leaderboard, so numbers never get re-derived
differently in two places. Stdlib + numpy only, like metrics.py and bootstrap.py: the Codabench export packages
them into its scoring program (terminal rendering lives in render.py).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from harness.scoring.bootstrap import (DEFAULT_DRAWS, DEFAULT_SEED, bootstrap_ci, per_group_confusion,
                                       point_scores)
from harness.scoring.metrics import DEFAULT_METRICS, confusion, per_class


def build_report(classes: Sequence[str], y_true: np.ndarray, y_preds: Sequence[np.ndarray], groups: np.ndarray,
                 draws: int = DEFAULT_DRAWS, boot_seed: int = DEFAULT_SEED, seeds: Sequence[int] | None = None,
                 metrics: Sequence[str] = DEFAULT_METRICS, datasets: np.ndarray | None = None,
                 part_titles: dict[str, str] | None = None, per_subject: bool = False) -> dict:
    """Score predictions pooled over all folds (one array per seed, aligned with `y_true`) on `metrics` (the
    protocol's, in its order).

    `datasets` (the dataset of each sample): where the samples come from more than one, the report also scores
    each dataset's part of the same pooled predictions (`parts`, in the order of `part_titles`), the way
    MEGC2019 reports a composite (Full, then SMIC, CASME II, SAMM): a system can win on the pool and lose on the
    smallest dataset.
    `per_subject`: also keep each subject's confusion matrix per seed, what a paired test between two stored
    systems needs (harness.scoring.compare); off where the report leaves the organiser (per-subject class counts
    say more about the test labels than the pooled ones).
    """
    k = len(classes)
    y_true = np.asarray(y_true, dtype=np.int64)
    preds = [np.asarray(p, dtype=np.int64) for p in y_preds]
    metrics = tuple(metrics)
    groups = np.asarray(groups)
    points = point_scores(y_true, preds, k, metrics)
    ci = bootstrap_ci(y_true, preds, groups, k, draws=draws, seed=boot_seed, metrics=metrics)
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
        **({"parts": dataset_parts(y_true, preds, groups, np.asarray(datasets), k, metrics, draws, boot_seed,
                                   part_titles)}
           if datasets is not None and len(np.unique(datasets)) > 1 else {}),
        **({"per_subject": {"subjects": [str(g) for g in np.unique(groups)],
                            "confusion": [per_group_confusion(y_true, p, groups, k).astype(int).tolist()
                                          for p in preds]}} if per_subject else {}),
    }


def dataset_parts(y_true: np.ndarray, preds: Sequence[np.ndarray], groups: np.ndarray, datasets: np.ndarray,
                  k: int, metrics: Sequence[str], draws: int, boot_seed: int,
                  titles: dict[str, str] | None = None) -> dict[str, dict]:
    """Each dataset's part of the pooled predictions, scored with K fixed (a part may lack a class; it still
    counts), its interval from a bootstrap over that dataset's subjects. In the order of `titles` (dataset ->
    display name), then by name."""
    titles = titles or {}
    present = [str(d) for d in np.unique(datasets)]
    names = [d for d in titles if d in present] + [d for d in present if d not in titles]
    out = {}
    for name in names:
        mask = datasets == name
        part_preds = [p[mask] for p in preds]
        points = point_scores(y_true[mask], part_preds, k, metrics)
        ci = bootstrap_ci(y_true[mask], part_preds, groups[mask], k, draws=draws, seed=boot_seed, metrics=metrics)
        out[name] = {"title": titles.get(name, name), "n_samples": int(mask.sum()),
                     "n_subjects": int(len(np.unique(groups[mask]))),
                     "metrics": {m: {"value": points[m]["mean"], "ci": ci[m].as_list(), "std": points[m]["std"]}
                                 for m in metrics}}
    return out
