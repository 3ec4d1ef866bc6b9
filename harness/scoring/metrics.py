"""The metrics, as a registry: each one a name, a title, a direction and a function of the pooled confusion
matrix, with K fixed by the protocol. A protocol's `metrics:` names them; the report, the store, the boards, the
expectations and the exported scoring program iterate that list. Adding a metric is one `@register_metric`.

Why confusion matrices: every metric the field reports is a function of the pooled K x K counts, a bincount
builds them in one pass (much faster than scikit-learn's three metric calls; see tests/bench), and the bootstrap
reuses per-subject matrices instead of re-scoring predictions.

Conventions (MEGC / CCAC): F1_c = 2TP / (2TP + FP + FN), recall_c = TP / N_c, UF1 and UAR are unweighted means
over all K classes. A class that is absent from the truth or never predicted is not dropped: a zero denominator
gives F1_c = 0 and recall_c = 0 (scikit-learn with zero_division=0 agrees whenever the class is present).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from harness.registry import Registry


@dataclass(frozen=True)
class Metric:
    name: str
    title: str                                   # column header on boards, reports, Codabench
    higher_is_better: bool
    compute: Callable[[np.ndarray], np.ndarray]  # pooled confusion (..., K, K) -> value (...)
    description: str = ""


METRICS: Registry[Metric] = Registry("metric")
#: What a protocol computes when its file names no `metrics`.
DEFAULT_METRICS = ("uf1", "uar", "acc")


def register_metric(name: str, title: str, higher_is_better: bool = True, description: str = ""):
    """Decorator: register `fn(confusion (..., K, K)) -> (...)` as the metric `name`."""
    def deco(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        METRICS.register(name, Metric(name, title, higher_is_better, fn, description))
        return fn
    return deco


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


@register_metric("uf1", "UF1", description="unweighted mean over the K classes of F1_c = 2TP / (2TP + FP + FN)")
def uf1(cm: np.ndarray) -> np.ndarray:
    return per_class(cm)["f1"].mean(axis=-1)


@register_metric("uar", "UAR", description="unweighted mean over the K classes of recall_c = TP / N_c")
def uar(cm: np.ndarray) -> np.ndarray:
    return per_class(cm)["recall"].mean(axis=-1)


@register_metric("acc", "ACC", description="share of samples predicted correctly")
def acc(cm: np.ndarray) -> np.ndarray:
    cm = np.asarray(cm, dtype=float)
    return _safe_div(np.trace(cm, axis1=-2, axis2=-1), cm.sum(axis=(-2, -1)))


def summary(cm: np.ndarray, metrics: Sequence[str] = DEFAULT_METRICS) -> dict[str, np.ndarray]:
    """The named metrics (default UF1, UAR and ACC) for a matrix or a (..., K, K) stack."""
    cm = np.asarray(cm, dtype=float)
    return {m: METRICS.get(m).compute(cm) for m in metrics}


def title(metric: str) -> str:
    """A metric's title; a name that is not registered (a report of another harness) is shown upper-cased."""
    return METRICS.get(metric).title if metric in METRICS else metric.upper()


def uf1_uar_acc(y_true, y_pred, k: int) -> tuple[float, float, float]:
    s = summary(confusion(y_true, y_pred, k))
    return float(s["uf1"]), float(s["uar"]), float(s["acc"])
