"""The shared SVM stage of the hand-crafted baselines: same classifier as SVC(kernel='linear'), C chosen on
training subjects only, config validation."""
from __future__ import annotations

import numpy as np
import pytest

from harness.api import split_config
from harness.kit.svm import LinearSvm, SvmConfig, fit_svm, inner_cv_scores
from harness.errors import BadInput


def _blobs(n_per: int = 20, k: int = 3, d: int = 30, seed: int = 0, spread: float = 1.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (k, d))
    x = np.concatenate([c + spread * rng.normal(size=(n_per, d)) for c in centres])
    y = np.repeat(np.arange(k), n_per)
    groups = np.array([f"s{i % 6}" for i in range(len(y))])
    return x, y, groups


def test_precomputed_linear_kernel_is_the_linear_svc():
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    x, y, _ = _blobs(spread=4.0)  # overlapping classes: the margin and C matter
    ours = LinearSvm(0.05).fit(x[::2], y[::2])
    scaler = StandardScaler().fit(x[::2])
    ref = SVC(C=0.05, kernel="linear", class_weight="balanced").fit(scaler.transform(x[::2]), y[::2])
    np.testing.assert_array_equal(ours.predict(x[1::2]), ref.predict(scaler.transform(x[1::2])))


def test_fixed_c_is_used_as_is_and_separable_data_is_learned():
    x, y, g = _blobs()
    fit = fit_svm(x, y, g, 3, SvmConfig(C=0.5), seed=0)
    assert fit.C == 0.5 and fit.how == "fixed" and not fit.scores
    assert (fit.model.predict(x) == y).all()


def test_grid_is_searched_by_inner_cv_and_ties_go_to_the_smallest_c():
    x, y, g = _blobs()
    fit = fit_svm(x, y, g, 3, SvmConfig(C=[0.01, 0.1, 1.0], inner_folds=3), seed=0)
    assert fit.how == "inner-cv" and set(fit.scores) == {0.01, 0.1, 1.0}
    best = max(fit.scores.values())
    assert fit.C == min(c for c, s in fit.scores.items() if s == best)


def test_inner_cv_never_splits_a_subject(monkeypatch):
    """Each inner fold's validation subjects are absent from its training part."""
    from sklearn import model_selection

    x, y, g = _blobs()
    seen = []
    real = model_selection.StratifiedGroupKFold.split

    def spy(self, X, yy, groups):
        for fit_idx, val_idx in real(self, X, yy, groups):
            seen.append(set(groups[fit_idx]) & set(groups[val_idx]))
            yield fit_idx, val_idx

    monkeypatch.setattr(model_selection.StratifiedGroupKFold, "split", spy)
    inner_cv_scores(x, y, g, 3, SvmConfig(C=[0.1, 1.0], inner_folds=3), seed=0)
    assert len(seen) == 3 and all(not shared for shared in seen)


def test_one_training_subject_falls_back_to_the_middle_of_the_grid():
    x, y, _ = _blobs()
    fit = fit_svm(x, y, np.array(["only"] * len(y)), 3, SvmConfig(C=[0.01, 0.1, 1.0]), seed=0)
    assert fit.how == "fallback" and fit.C == 0.1


def test_config_is_validated_and_typos_get_suggestions():
    with pytest.raises(BadInput, match="C values must be > 0"):
        SvmConfig(C=[0.0, 1.0])
    with pytest.raises(BadInput, match="did you mean 'inner_folds'"):
        split_config({"inner_fold": 3}, SvmConfig)
    (svm,) = split_config({"C": 2, "inner_folds": 4}, SvmConfig)
    assert svm.C == (2.0,) and svm.inner_folds == 4
