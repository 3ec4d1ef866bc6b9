"""The score report: point values, 95% subject-bootstrap intervals, per-class numbers and confusion matrices.

One dict shape serves `harness score --json`, the store and the leaderboard, so numbers never get re-derived
differently in two places.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from harness.scoring.bootstrap import DEFAULT_DRAWS, DEFAULT_SEED, bootstrap_ci, point_scores
from harness.scoring.metrics import confusion, per_class

METRIC_TITLES = {"uf1": "UF1", "uar": "UAR", "acc": "ACC"}


def build_report(classes: Sequence[str], y_true: np.ndarray, y_preds: Sequence[np.ndarray], groups: np.ndarray,
                 draws: int = DEFAULT_DRAWS, boot_seed: int = DEFAULT_SEED, seeds: Sequence[int] | None = None) -> dict:
    """Score predictions pooled over all folds (one array per seed, aligned with `y_true`)."""
    k = len(classes)
    y_true = np.asarray(y_true, dtype=np.int64)
    preds = [np.asarray(p, dtype=np.int64) for p in y_preds]
    points = point_scores(y_true, preds, k)
    ci = bootstrap_ci(y_true, preds, np.asarray(groups), k, draws=draws, seed=boot_seed)
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
                        "per_seed": points[m]["per_seed"]} for m in ("uf1", "uar", "acc")},
        "per_class": per_cls,
        "confusion": [cm.astype(int).tolist() for cm in cms],
        "never_predicted": [c for i, c in enumerate(classes) if all(cm[:, i].sum() == 0 for cm in cms)],
        "absent": [c for i, c in enumerate(classes) if cms[0][i].sum() == 0],
        "bootstrap": {"unit": "subject", "draws": draws, "seed": boot_seed, "level": 0.95},
        "pooled_over_folds": True,
    }


def render_report(report: dict, title: str = "") -> str:
    from tabulate import tabulate

    lines = [title] if title else []
    m = report["metrics"]
    seeds = f", {report['n_seeds']} seeds (mean ± std over seeds)" if report["n_seeds"] > 1 else ""
    lines.append(f"{report['n_samples']} samples from {report['n_subjects']} subjects, K = {len(report['classes'])}"
                 f"{seeds}; 95% CI by bootstrap over subjects ({report['bootstrap']['draws']} draws)")
    rows = []
    for key, name in METRIC_TITLES.items():
        v = m[key]
        std = f" ± {v['std']:.4f}" if report["n_seeds"] > 1 else ""
        rows.append([name, f"{v['value']:.4f}{std}", f"[{v['ci'][0]:.4f}, {v['ci'][1]:.4f}]"])
    lines.append(tabulate(rows, headers=["metric", "value", "95% CI"], disable_numparse=True))
    lines.append("")
    lines.append(tabulate([[p["class"], f"{p['precision']:.3f}", f"{p['recall']:.3f}", f"{p['f1']:.3f}", p["support"]]
                           for p in report["per_class"]], headers=["class", "precision", "recall", "F1", "support"],
                          disable_numparse=True))
    cm = report["confusion"][0]
    lines.append("")
    lines.append("confusion (rows = truth, columns = prediction" + (", seed 1" if report["n_seeds"] > 1 else "") + ")")
    lines.append(tabulate([[c, *row] for c, row in zip(report["classes"], cm)], headers=["", *report["classes"]]))
    for note, key in (("never predicted (F1 = 0, kept in the mean)", "never_predicted"),
                      ("absent from the truth (F1 = recall = 0, kept in the mean)", "absent")):
        if report[key]:
            lines.append(f"{note}: {', '.join(report[key])}")
    return "\n".join(lines)
