"""Metrics (UF1 / UAR / ACC with K fixed by the protocol), subject bootstrap, multi-seed reports."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score, recall_score

from harness.scoring.bootstrap import bootstrap_ci, per_group_confusion, point_scores
from harness.scoring.metrics import confusion, per_class, summary, uf1_uar_acc
from harness.scoring.render import render_report
from harness.scoring.report import build_report

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True)


def _sk(y_true, y_pred, **kw) -> tuple[float, float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (f1_score(y_true, y_pred, average="macro", **kw), recall_score(y_true, y_pred, average="macro", **kw),
                accuracy_score(y_true, y_pred))


# ----- a hand-checked example ------------------------------------------------------------------------------------
def test_hand_checked_example():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 2, 2]
    cm = confusion(y_true, y_pred, 3)
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    pc = per_class(cm)
    # F1 = 2TP / (2TP + FP + FN): 4/5, 2/4, 2/3; recall = 2/3, 1/2, 1/1; precision = 2/2, 1/2, 1/2
    assert pc["f1"] == pytest.approx([0.8, 0.5, 2 / 3])
    assert pc["recall"] == pytest.approx([2 / 3, 0.5, 1.0])
    assert pc["precision"] == pytest.approx([1.0, 0.5, 0.5])
    assert pc["support"].tolist() == [3, 2, 1]
    uf1, uar, acc = uf1_uar_acc(y_true, y_pred, 3)
    assert uf1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)   # 0.655556
    assert uar == pytest.approx((2 / 3 + 0.5 + 1) / 3)     # 0.722222
    assert acc == pytest.approx(4 / 6)


def test_absent_class_counts_as_zero_and_is_never_dropped():
    """K = 4 but class 3 is neither in the truth nor predicted: F1_3 = recall_3 = 0 stay in the mean."""
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 2, 2]
    uf1, uar, acc = uf1_uar_acc(y_true, y_pred, 4)
    assert uf1 == pytest.approx((0.8 + 0.5 + 2 / 3 + 0) / 4)   # 0.491667
    assert uar == pytest.approx((2 / 3 + 0.5 + 1 + 0) / 4)     # 0.541667
    assert acc == pytest.approx(4 / 6)
    sk_uf1, sk_uar, _ = _sk(y_true, y_pred)  # scikit-learn's default averages the 3 labels it sees
    assert sk_uf1 == pytest.approx(0.655556, abs=1e-6) and sk_uar == pytest.approx(0.722222, abs=1e-6)
    assert uf1 == pytest.approx(sk_uf1 * 3 / 4) and sk_uf1 - uf1 == pytest.approx(0.163889, abs=1e-6)
    assert (uf1, uar) == pytest.approx(_sk(y_true, y_pred, labels=[0, 1, 2, 3], zero_division=0)[:2])


def test_never_predicted_class():
    """Class 2 is in the truth but never predicted: F1 = 0, recall = 0, precision 0 (no division by zero)."""
    y_true = [0, 1, 2, 2]
    y_pred = [0, 1, 0, 1]
    pc = per_class(confusion(y_true, y_pred, 3))
    assert pc["f1"].tolist() == pytest.approx([2 / 3, 2 / 3, 0.0])
    assert pc["precision"][2] == 0.0 and pc["recall"][2] == 0.0
    uf1, uar, acc = uf1_uar_acc(y_true, y_pred, 3)
    assert (uf1, uar, acc) == pytest.approx((4 / 9, 2 / 3, 0.5))
    assert (uf1, uar, acc) == pytest.approx(_sk(y_true, y_pred, zero_division=0))


def test_predicted_but_absent_class():
    """Class 2 is predicted but absent from the truth: F1 = 0 and recall = 0 (no support) are kept."""
    y_true = [0, 0, 1, 1]
    y_pred = [0, 2, 1, 1]
    uf1, uar, acc = uf1_uar_acc(y_true, y_pred, 3)
    assert uf1 == pytest.approx((2 / 3 + 1 + 0) / 3) and uar == pytest.approx((0.5 + 1 + 0) / 3)
    assert acc == 0.75


def test_empty_and_invalid_inputs():
    s = summary(confusion([], [], 3))
    assert (float(s["uf1"]), float(s["uar"]), float(s["acc"])) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        confusion([0, 3], [0, 1], 3)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        confusion([0, 1], [0, -1], 3)
    with pytest.raises(ValueError, match="differ in length"):
        confusion([0, 1], [0], 3)


def test_summary_on_a_stack_of_matrices():
    a = confusion([0, 1, 1], [0, 1, 0], 2)
    b = confusion([0, 0, 1], [1, 1, 1], 2)
    s = summary(np.stack([a, b]))
    for i, cm in enumerate((a, b)):
        one = summary(cm)
        assert [float(s[m][i]) for m in ("uf1", "uar", "acc")] == pytest.approx([float(one[m]) for m in
                                                                                 ("uf1", "uar", "acc")])


# ----- property tests against scikit-learn ----------------------------------------------------------------------
@st.composite
def labelled_pairs(draw, all_present: bool):
    k = draw(st.integers(2, 8))
    n = draw(st.integers(0 if all_present else 1, 60))
    y_true = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    y_pred = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    if all_present:  # every class in the truth and in the predictions
        perm = draw(st.permutations(range(k)))
        y_true, y_pred = y_true + list(range(k)), y_pred + list(perm)
    return k, np.array(y_true), np.array(y_pred)


@SETTINGS
@given(labelled_pairs(all_present=True))
def test_agrees_with_sklearn_when_every_class_is_present(case):
    k, y_true, y_pred = case
    ours = uf1_uar_acc(y_true, y_pred, k)
    assert ours == pytest.approx(_sk(y_true, y_pred), abs=1e-12)


@SETTINGS
@given(labelled_pairs(all_present=False))
def test_fixed_k_equals_sklearn_with_all_labels_and_zero_division_0(case):
    k, y_true, y_pred = case
    assert uf1_uar_acc(y_true, y_pred, k) == pytest.approx(
        _sk(y_true, y_pred, labels=list(range(k)), zero_division=0), abs=1e-12)


@SETTINGS
@given(labelled_pairs(all_present=False))
def test_documented_difference_from_sklearn_default(case):
    """scikit-learn's default averages over the labels it sees in y_true or y_pred; we always average over K.
    A class seen in neither contributes 0, so ours = sklearn * (#seen / K) exactly."""
    k, y_true, y_pred = case
    seen = len(set(y_true.tolist()) | set(y_pred.tolist()))
    uf1, uar, _ = uf1_uar_acc(y_true, y_pred, k)
    sk_uf1, sk_uar, _ = _sk(y_true, y_pred, zero_division=0)
    assert uf1 == pytest.approx(sk_uf1 * seen / k, abs=1e-12)
    assert uar == pytest.approx(sk_uar * seen / k, abs=1e-12)
    if seen < k:
        assert uf1 < sk_uf1 or sk_uf1 == 0


@SETTINGS
@given(labelled_pairs(all_present=False), st.integers(1, 6))
def test_per_group_confusions_sum_to_the_pooled_one(case, n_groups):
    k, y_true, y_pred = case
    groups = np.arange(len(y_true)) % n_groups
    per = per_group_confusion(y_true, y_pred, groups, k)
    assert per.shape == (len(set(groups.tolist())), k, k)
    assert (per.sum(axis=0) == confusion(y_true, y_pred, k)).all()


# ----- bootstrap over subjects ----------------------------------------------------------------------------------
def _subject_data(n_subjects: int, per_subject: int, k: int = 3, seed: int = 0, p_correct: float = 0.6):
    rng = np.random.default_rng(seed)
    n = n_subjects * per_subject
    y_true = rng.integers(0, k, n)
    y_pred = np.where(rng.random(n) < p_correct, y_true, rng.integers(0, k, n))
    groups = np.repeat([f"s{i:02d}" for i in range(n_subjects)], per_subject)
    return y_true, y_pred, groups


def test_ci_contains_the_point_and_is_deterministic():
    y_true, y_pred, groups = _subject_data(20, 15)
    ci = bootstrap_ci(y_true, [y_pred], groups, 3, draws=500, seed=7)
    point = dict(zip(("uf1", "uar", "acc"), uf1_uar_acc(y_true, y_pred, 3)))
    for m, iv in ci.items():
        assert iv.low < point[m] < iv.high, (m, iv, point[m])
        assert 0 < iv.high - iv.low < 0.5
    assert bootstrap_ci(y_true, [y_pred], groups, 3, draws=500, seed=7) == ci
    assert bootstrap_ci(y_true, [y_pred], groups, 3, draws=500, seed=8) != ci


def test_single_subject_gives_a_zero_width_interval():
    y_true, y_pred, groups = _subject_data(1, 30)
    ci = bootstrap_ci(y_true, [y_pred], groups, 3, draws=200)
    uf1, uar, acc = uf1_uar_acc(y_true, y_pred, 3)
    assert ci["uf1"].as_list() == pytest.approx([uf1, uf1]) and ci["acc"].as_list() == pytest.approx([acc, acc])


def test_resamples_subjects_not_samples():
    """Identical subjects: every resample of subjects pools copies of one matrix, so the interval has zero width,
    whereas resampling samples would not."""
    y_true, y_pred, _ = _subject_data(1, 12, seed=3)
    n_subj = 8
    yt, yp = np.tile(y_true, n_subj), np.tile(y_pred, n_subj)
    groups = np.repeat(np.arange(n_subj), len(y_true))
    ci = bootstrap_ci(yt, [yp], groups, 3, draws=300)
    assert all(iv.high - iv.low == pytest.approx(0, abs=1e-12) for iv in ci.values())
    per_sample = bootstrap_ci(yt, [yp], np.arange(len(yt)), 3, draws=300)
    assert per_sample["acc"].high - per_sample["acc"].low > 0.05


def test_correlated_subjects_widen_the_interval():
    """Half the subjects always right, half always wrong: the subject bootstrap sees 20 units, not 200."""
    n_subj, per = 20, 10
    y_true = np.tile(np.arange(per) % 3, n_subj)
    right = np.repeat(np.arange(n_subj) % 2 == 0, per)
    y_pred = np.where(right, y_true, (y_true + 1) % 3)
    subjects = np.repeat(np.arange(n_subj), per)
    by_subject = bootstrap_ci(y_true, [y_pred], subjects, 3, draws=1000)["acc"]
    by_sample = bootstrap_ci(y_true, [y_pred], np.arange(len(y_true)), 3, draws=1000)["acc"]
    assert by_subject.low < 0.5 < by_subject.high
    assert (by_subject.high - by_subject.low) > 2 * (by_sample.high - by_sample.low)


def test_more_subjects_narrow_the_interval():
    widths = []
    for n in (6, 60):
        y_true, y_pred, groups = _subject_data(n, 10, seed=n)
        iv = bootstrap_ci(y_true, [y_pred], groups, 3, draws=400)["uf1"]
        widths.append(iv.high - iv.low)
    assert widths[1] < widths[0] / 2


# ----- several seeds ---------------------------------------------------------------------------------------------
def test_point_scores_mean_and_std_over_seeds():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    preds = [np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 2, 0]), np.array([1, 1, 0, 0, 2, 2])]
    ps = point_scores(y_true, preds, 3)
    accs = [1.0, 4 / 6, 2 / 6]
    assert ps["acc"]["per_seed"] == pytest.approx(accs)
    assert ps["acc"]["mean"] == pytest.approx(np.mean(accs))
    assert ps["acc"]["std"] == pytest.approx(np.std(accs, ddof=1))
    assert point_scores(y_true, preds[:1], 3)["uf1"]["std"] == 0.0


def test_multi_seed_interval_is_that_of_the_seed_mean():
    y_true, p1, groups = _subject_data(12, 10, seed=1)
    _, p2, _ = _subject_data(12, 10, seed=2)
    p2 = np.where(np.arange(len(p2)) % 3 == 0, y_true, p2)
    ci = bootstrap_ci(y_true, [p1, p2], groups, 3, draws=400, seed=5)
    mean_acc = np.mean([uf1_uar_acc(y_true, p, 3)[2] for p in (p1, p2)])
    assert ci["acc"].low < mean_acc < ci["acc"].high
    # with two identical seeds the interval equals the single-seed one
    assert bootstrap_ci(y_true, [p1, p1], groups, 3, draws=400, seed=5) == \
        bootstrap_ci(y_true, [p1], groups, 3, draws=400, seed=5)


# ----- the report ------------------------------------------------------------------------------------------------
def test_build_report_shape_and_values():
    classes = ["negative", "positive", "surprise", "other"]
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    groups = np.array(["a", "a", "b", "b", "c", "c"])
    rep = build_report(classes, y_true, [y_pred], groups, draws=200)
    assert rep["n_samples"] == 6 and rep["n_subjects"] == 3 and rep["n_seeds"] == 1 and rep["seeds"] == [0]
    assert rep["metrics"]["uf1"]["value"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 4)
    assert rep["metrics"]["acc"]["value"] == pytest.approx(4 / 6)
    assert rep["metrics"]["uf1"]["std"] == 0.0 and len(rep["metrics"]["uar"]["ci"]) == 2
    assert rep["confusion"] == [[[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]]
    assert rep["per_class"][0] == {"class": "negative", "precision": 1.0, "recall": pytest.approx(2 / 3),
                                   "f1": pytest.approx(0.8), "support": 3}
    assert rep["absent"] == ["other"] and rep["never_predicted"] == ["other"]
    assert rep["bootstrap"] == {"unit": "subject", "draws": 200, "seed": rep["bootstrap"]["seed"], "level": 0.95}
    assert rep["pooled_over_folds"] is True
    text = render_report(rep, "title")
    assert "UF1" in text and "absent from the truth (F1 = recall = 0, kept in the mean): other" in text
    assert "6 samples from 3 subjects, K = 4" in text


def test_build_report_several_seeds():
    classes = ["a", "b"]
    y_true = np.array([0, 1, 0, 1])
    rep = build_report(classes, y_true, [np.array([0, 1, 0, 1]), np.array([1, 1, 0, 0])], np.array([1, 1, 2, 2]),
                       draws=100, seeds=[3, 4])
    assert rep["seeds"] == [3, 4] and rep["n_seeds"] == 2
    assert rep["metrics"]["acc"]["per_seed"] == [1.0, 0.5] and rep["metrics"]["acc"]["value"] == 0.75
    assert rep["metrics"]["acc"]["std"] == pytest.approx(np.std([1.0, 0.5], ddof=1))
    assert len(rep["confusion"]) == 2 and rep["never_predicted"] == []
    assert "2 seeds (mean ± std over seeds)" in render_report(rep)
