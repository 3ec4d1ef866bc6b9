"""The classifier stage shared by the hand-crafted baselines (LBP-TOP, Bi-WOOF): a linear SVM, C fixed or chosen
by subject-grouped inner cross-validation on the training subjects only.

Why here and not in a bundle: both baselines need exactly the same stage, and a comparison between them should
measure their features, not two slightly different classifier set-ups.

- The SVM is LIBSVM's C-SVC with a linear kernel (one-vs-one), as the MER papers used; the linear kernel is
  computed once as a Gram matrix (BLAS) and passed as `kernel="precomputed"`, which gives the same classifier
  as `SVC(kernel="linear")` but lets every C of the grid reuse one kernel (much faster on ~10^4 features).
- Class imbalance: `class_weight="balanced"` (C_c = C * n / (K n_c)) unless configured off.
- C: a single value is used as is; a list is a grid searched by StratifiedGroupKFold over the TRAINING subjects
  (never the test fold), scored by UF1 (or UAR) on the pooled out-of-fold predictions, as the benchmark scores.
  Ties go to the smaller C (the simpler model).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from harness.errors import BadInput

SELECTION_METRICS = ("uf1", "uar")


@dataclass(frozen=True)
class SvmConfig:
    """C: one value (fixed) or several (inner-CV grid). inner_folds: subject-grouped folds for the grid search.
    standardise: z-score each feature with the training statistics. class_weight: balanced | none."""

    C: tuple[float, ...] = (1.0,)
    inner_folds: int = 5
    standardise: bool = True
    class_weight: str = "balanced"
    select_by: str = "uf1"

    def __post_init__(self) -> None:
        grid = self.C if isinstance(self.C, (list, tuple)) else (self.C,)
        try:
            grid = tuple(float(c) for c in grid)
        except (TypeError, ValueError):
            raise BadInput(f"SVM C must be a number or a list of numbers, got {self.C!r}") from None
        if not grid or any(not c > 0 for c in grid):
            raise BadInput(f"SVM C values must be > 0, got {self.C!r}")
        object.__setattr__(self, "C", grid)
        if not isinstance(self.inner_folds, int) or self.inner_folds < 2:
            raise BadInput(f"inner_folds must be an int >= 2, got {self.inner_folds!r}")
        if self.class_weight not in ("balanced", "none"):
            raise BadInput(f"class_weight must be 'balanced' or 'none', got {self.class_weight!r}")
        if self.select_by not in SELECTION_METRICS:
            raise BadInput(f"select_by must be one of {SELECTION_METRICS}, got {self.select_by!r}")


# --- the classifier -----------------------------------------------------------------------------------------------
@dataclass
class LinearSvm:
    """Standardise (optionally) + linear C-SVC on a precomputed Gram matrix."""

    C: float
    standardise: bool = True
    class_weight: str = "balanced"
    mean_: np.ndarray | None = None
    scale_: np.ndarray | None = None
    support_x_: np.ndarray | None = None
    svc_: Any = None

    def _transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return (x - self.mean_) / self.scale_ if self.standardise else x

    def fit(self, x: np.ndarray, y: np.ndarray) -> "LinearSvm":
        x = np.asarray(x, dtype=np.float64)
        if self.standardise:
            self.mean_ = x.mean(axis=0)
            sd = x.std(axis=0)
            self.scale_ = np.where(sd > 0, sd, 1.0)
        self.support_x_ = self._transform(x)
        return self.fit_gram(self.support_x_ @ self.support_x_.T, y)

    def fit_gram(self, gram: np.ndarray, y: np.ndarray) -> "LinearSvm":
        from sklearn.svm import SVC

        weight = "balanced" if self.class_weight == "balanced" else None
        self.svc_ = SVC(C=self.C, kernel="precomputed", class_weight=weight, decision_function_shape="ovr")
        self.svc_.fit(gram, np.asarray(y))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.svc_.predict(self._transform(x) @ self.support_x_.T)


def _selection_score(y_true: np.ndarray, y_pred: np.ndarray, k: int, metric: str) -> float:
    from harness.scoring.metrics import confusion, summary

    return float(summary(confusion(y_true, y_pred, k), (metric,))[metric])


def inner_cv_scores(x: np.ndarray, y: np.ndarray, groups: np.ndarray, k: int, cfg: SvmConfig,
                    seed: int) -> dict[float, float]:
    """Score of each C of the grid: UF1/UAR of out-of-fold predictions pooled over subject-grouped inner folds of
    the TRAINING data. Each inner fold standardises with its own training part and computes one Gram matrix that
    every C reuses."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(set(groups.tolist()))
    splitter = StratifiedGroupKFold(n_splits=min(cfg.inner_folds, n_groups), shuffle=True,
                                    random_state=int(seed) % (2 ** 32))
    oof = {c: np.full(len(y), -1, dtype=np.int64) for c in cfg.C}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class" on small folds
        splits = list(splitter.split(np.zeros(len(y)), y, groups))
    for fit_idx, val_idx in splits:
        if len(np.unique(y[fit_idx])) < 2:  # a one-class inner fold: predict that class (nothing to learn)
            for c in cfg.C:
                oof[c][val_idx] = y[fit_idx][0]
            continue
        base = LinearSvm(cfg.C[0], cfg.standardise, cfg.class_weight).fit(x[fit_idx], y[fit_idx])
        gram = base.support_x_ @ base.support_x_.T
        cross = base._transform(x[val_idx]) @ base.support_x_.T
        for c in cfg.C:
            svm = LinearSvm(c, cfg.standardise, cfg.class_weight).fit_gram(gram, y[fit_idx])
            oof[c][val_idx] = svm.svc_.predict(cross)
    return {c: _selection_score(y, oof[c], k, cfg.select_by) for c in cfg.C}


@dataclass
class SvmFit:
    model: LinearSvm
    C: float
    how: str                                   # fixed | inner-cv | fallback
    scores: dict[float, float] = field(default_factory=dict)


def fit_svm(x: np.ndarray, y: np.ndarray, groups: Sequence[str], k: int, cfg: SvmConfig, seed: int) -> SvmFit:
    """Choose C (fixed, or by inner CV over training subjects) and fit the final SVM on all training data."""
    x, y, groups = np.asarray(x), np.asarray(y, dtype=np.int64), np.asarray(groups)
    if len(np.unique(y)) < 2:
        raise BadInput("the SVM needs at least two classes in the training data")
    scores: dict[float, float] = {}
    if len(cfg.C) == 1:
        c, how = cfg.C[0], "fixed"
    elif len(set(groups.tolist())) < 2:
        c, how = cfg.C[len(cfg.C) // 2], "fallback"   # one training subject: no grouped CV is possible
    else:
        scores = inner_cv_scores(x, y, groups, k, cfg, seed)
        best = max(scores.values())
        c, how = min(cc for cc, s in scores.items() if s == best), "inner-cv"
    model = LinearSvm(c, cfg.standardise, cfg.class_weight).fit(x, y)
    return SvmFit(model, c, how, scores)


# --- the bundle shape ------------------------------------------------------------------------------------------------
class FeatureSvm:
    """A bundle made of a per-sample feature extractor and the shared SVM stage.

    Subclasses implement `extract(sample, context)` (one vector, from `context.preprocess`) and
    `feature_identity(sample)` (everything that decides that vector). Vectors are cached in the shared
    preprocessing cache under `feature_kind`: they are label-free functions of the frames, so LOSO folds (each a
    fresh process) reuse them instead of recomputing every sample in every fold.

    Samples without a detectable face are left out of training and predicted as the training majority class at
    test time; both counts are recorded (never a silent zero vector).
    """

    feature_kind = "features"
    feature_version = "1"

    def __init__(self, svm: SvmConfig):
        self.svm = svm
        self.fit_: SvmFit | None = None
        self.majority_: int = 0

    def extract(self, sample, context) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def feature_identity(self, sample) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def features(self, samples, context) -> tuple[np.ndarray, list[int]]:
        """(N', D) vectors of the samples that have a face, and their positions in `samples`."""
        pre = context.preprocess

        def one(sample) -> np.ndarray:
            identity = {"sample": sample.cache_key, "version": self.feature_version, **self.feature_identity(sample)}
            arrays, _ = pre.cache.get_or_compute(self.feature_kind, identity,
                                                 lambda: ({"x": np.asarray(self.extract(sample, context))}, {}))
            return arrays["x"]

        batch = pre.map(list(samples), one, on_no_face="skip", context=context)
        x = np.stack(batch.values).astype(np.float64) if len(batch) else np.zeros((0, 0))
        if x.size and not np.all(np.isfinite(x)):
            raise ValueError(f"{type(self).__name__}: non-finite feature values")
        return x, list(batch.positions)

    def latency_ms(self, sample, context, repeats: int = 3) -> float:
        """Per-clip inference time: the feature vector computed afresh from the (cached) preprocessed input, plus
        the SVM decision; the shared preprocessing (face, flow) is not counted, as for the neural bundles."""
        x = np.asarray(self.extract(sample, context), dtype=np.float64)[None]   # warm-up (loads the input)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            x = np.asarray(self.extract(sample, context), dtype=np.float64)[None]
            self.fit_.model.predict(x)
            times.append((time.perf_counter() - t0) * 1000)
        return float(np.median(times))

    def fit(self, train, context) -> None:
        x, positions = self.features(train, context)
        y, groups = train.labels[positions], train.subjects[positions]
        self.majority_ = int(np.argmax(np.bincount(y, minlength=len(train.classes)))) if len(y) else 0
        self.fit_ = fit_svm(x, y, groups, len(train.classes), self.svm, context.seed)
        context.record("n_features", int(x.shape[1]))
        context.record("svm_C", self.fit_.C)
        context.record("svm_C_by", self.fit_.how)
        if self.fit_.scores:
            context.record(f"inner_{self.svm.select_by}", round(max(self.fit_.scores.values()), 4))
        context.record("train_no_face", len(train) - len(positions))

    def predict(self, test, context):
        from harness.api import Prediction

        if self.fit_ is None:
            raise RuntimeError("predict() called before fit()")
        x, positions = self.features(test, context)
        labels = np.full(len(test), self.majority_, dtype=np.int64)
        if positions:
            labels[positions] = self.fit_.model.predict(x)
            context.record("latency_ms", round(self.latency_ms(test[positions[0]], context), 2))
        context.record("test_no_face_majority", len(test) - len(positions))
        context.record("cpu_s", round(time.process_time(), 2))  # this fold's process: preprocessing + fit + predict
        return Prediction([int(v) for v in labels])
