"""UF1 / UAR / ACC from confusion matrices, with K fixed by the protocol.

Why confusion matrices: every metric the field reports is a function of the pooled K x K counts, a bincount
builds them in one pass (much faster than scikit-learn's three metric calls; see tests/bench), and the bootstrap
reuses per-subject matrices instead of re-scoring predictions.

Conventions (MEGC / CCAC): F1_c = 2TP / (2TP + FP + FN), recall_c = TP / N_c, UF1 and UAR are unweighted means
over all K classes. A class that is absent from the truth or never predicted is not dropped: a zero denominator
gives F1_c = 0 and recall_c = 0 (scikit-learn with zero_division=0 agrees whenever the class is present).
"""
from __future__ import annotations

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int, weights: np.ndarray | None = None) -> np.ndarray:
    """K x K counts, rows = truth, columns = prediction. Inputs are class indices in [0, k)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError("y_true and y_pred differ in length")
    if y_true.size and (y_true.min() < 0 or y_true.max() >= k or y_pred.min() < 0 or y_pred.max() >= k):
        raise ValueError(f"class indices must lie in [0, {k})")
    return np.bincount(y_true * k + y_pred, weights=weights, minlength=k * k).reshape(k, k)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast(num, den).shape, dtype=float)
    np.divide(num, den, out=out, where=den > 0)
    return out


def per_class(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 and support; works on (..., K, K) stacks of matrices."""
    cm = np.asarray(cm, dtype=float)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    fp = predicted - tp
    fn = support - tp
    return {
        "precision": _safe_div(tp, predicted),
        "recall": _safe_div(tp, support),
        "f1": _safe_div(2 * tp, 2 * tp + fp + fn),
        "support": support,
    }


def summary(cm: np.ndarray) -> dict[str, np.ndarray]:
    """UF1, UAR and ACC for a matrix or a (..., K, K) stack."""
    cm = np.asarray(cm, dtype=float)
    pc = per_class(cm)
    total = cm.sum(axis=(-2, -1))
    return {
        "uf1": pc["f1"].mean(axis=-1),
        "uar": pc["recall"].mean(axis=-1),
        "acc": _safe_div(np.trace(cm, axis1=-2, axis2=-1), total),
    }


def uf1_uar_acc(y_true, y_pred, k: int) -> tuple[float, float, float]:
    s = summary(confusion(y_true, y_pred, k))
    return float(s["uf1"]), float(s["uar"]), float(s["acc"])
