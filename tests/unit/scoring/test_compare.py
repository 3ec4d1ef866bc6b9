"""The paired tests of `harness compare` validated on simulated data: under H0 (two systems equal up to
relabelled noise) the permutation p-values are close to uniform and the bootstrap interval of the difference
covers 0 at about its nominal rate; a clearly better system gets a small p and an interval that excludes 0."""
from __future__ import annotations

import numpy as np
import pytest

from harness.scoring.bootstrap import per_group_confusion
from harness.scoring.compare import Paired, align, bootstrap_delta, compare, observed_delta, permutation_p
from harness.scoring.metrics import confusion, summary

K, SUBJECTS, PER_SUBJECT = 3, 24, 8


def _truth(rng):
    groups = np.repeat(np.arange(SUBJECTS), PER_SUBJECT)
    subject_bias = rng.dirichlet(np.ones(K) * 2, size=SUBJECTS)   # subjects differ in their class mix
    y = np.array([rng.choice(K, p=subject_bias[g]) for g in groups])
    return y, groups


def _system(rng, y, groups, skill):
    """Right with a per-subject probability around `skill` (subjects differ in difficulty), else a random class."""
    hard = rng.beta(2, 2, size=SUBJECTS)
    right = rng.random(len(y)) < np.clip(skill + 0.3 * (hard[groups] - 0.5), 0, 1)
    return np.where(right, y, rng.integers(0, K, len(y)))


def _pair(y, groups, a, b):
    return Paired.of(per_group_confusion(y, a, groups, K), per_group_confusion(y, b, groups, K))


def test_observed_delta_is_the_difference_of_the_pooled_metrics():
    rng = np.random.default_rng(0)
    y, g = _truth(rng)
    a, b = _system(rng, y, g, 0.6), _system(rng, y, g, 0.4)
    d = observed_delta(_pair(y, g, a, b))
    sa, sb = summary(confusion(y, a, K)), summary(confusion(y, b, K))
    assert d == pytest.approx({m: float(sa[m] - sb[m]) for m in d}, abs=1e-12)


def test_under_h0_p_values_are_uniform_and_the_interval_covers_0_at_the_nominal_rate():
    rng = np.random.default_rng(1)
    ps, covered = [], []
    for i in range(150):
        y, g = _truth(rng)
        pair = _pair(y, g, _system(rng, y, g, 0.5), _system(rng, y, g, 0.5))   # same system, other noise
        ps.append(permutation_p(pair, ("uf1",), permutations=400, seed=i)["uf1"])
        low, high = bootstrap_delta(pair, ("uf1",), draws=400, seed=i)["uf1"]
        covered.append(low <= 0 <= high)
    ps = np.array(ps)
    assert 0.01 <= (ps < 0.05).mean() <= 0.11                  # nominal 5%
    assert 0.05 <= (ps < 0.2).mean() <= 0.32                   # nominal 20%
    assert 0.4 <= np.median(ps) <= 0.6
    assert 0.88 <= np.mean(covered) <= 0.99                    # nominal 95%


def test_a_clearly_better_system_gets_a_small_p_and_an_interval_above_0():
    rng = np.random.default_rng(2)
    y, g = _truth(rng)
    out = compare(_pair(y, g, _system(rng, y, g, 0.8), _system(rng, y, g, 0.35)), draws=500, permutations=500)
    for m in ("uf1", "uar", "acc"):
        assert out["delta"][m]["value"] > 0.2
        assert out["delta"][m]["p"] < 0.01 and out["delta"][m]["ci"][0] > 0
    swapped = compare(_pair(y, g, _system(rng, y, g, 0.35), _system(rng, y, g, 0.8)), draws=500, permutations=500)
    assert swapped["delta"]["uf1"]["ci"][1] < 0 and swapped["delta"]["uf1"]["p"] < 0.01


def test_the_permutation_swaps_whole_subjects_and_a_system_against_itself_has_p_1():
    rng = np.random.default_rng(3)
    y, g = _truth(rng)
    a = _system(rng, y, g, 0.6)
    assert permutation_p(_pair(y, g, a, a), permutations=200)["uf1"] == 1.0
    out = compare(_pair(y, g, a, a), draws=200, permutations=200)
    assert out["delta"]["uf1"]["ci"] == [0.0, 0.0]


def test_seeds_are_averaged_and_unequal_seed_counts_are_said():
    rng = np.random.default_rng(4)
    y, g = _truth(rng)
    a = np.stack([per_group_confusion(y, _system(rng, y, g, 0.6), g, K) for _ in range(3)])
    b = np.stack([per_group_confusion(y, _system(rng, y, g, 0.6), g, K) for _ in range(3)])
    pair = Paired.of(a, b)
    want = np.mean([summary(s.sum(axis=0))["uf1"] for s in a]) - np.mean([summary(s.sum(axis=0))["uf1"] for s in b])
    assert observed_delta(pair)["uf1"] == pytest.approx(float(want))
    assert "3 vs 1 seeds" in Paired.of(a, b[:1]).method


def test_align_pairs_by_subject_and_refuses_other_subjects():
    rng = np.random.default_rng(5)
    y, g = _truth(rng)
    a, b = per_group_confusion(y, _system(rng, y, g, 0.6), g, K), per_group_confusion(y, y, g, K)
    names = [f"s{i}" for i in range(SUBJECTS)]
    shuffled = rng.permutation(SUBJECTS)
    pair = align(names, a[None], [names[i] for i in shuffled], b[None][:, shuffled])
    assert np.array_equal(pair.b[0], b)
    with pytest.raises(ValueError, match="different subjects"):
        align(names, a[None], [*names[:-1], "other"], b[None])


def test_the_stratified_guess_matches_its_closed_forms_and_sits_below_1_over_k_on_uf1():
    from harness.scoring.chance import stratified_guess

    counts = [88, 32, 25]
    out = stratified_guess(counts, draws=20000)
    p = np.array(counts) / sum(counts)
    assert out["uar"] == pytest.approx(1 / 3, abs=0.003)                   # exactly 1/K in expectation
    assert out["acc"] == pytest.approx(float((p ** 2).sum()), abs=0.003)   # sum p_c^2
    assert out["uf1"] < 1 / 3                                              # below 1/K (a ratio of counts)
    rng = np.random.default_rng(0)   # against a direct simulation of guesses on a test set
    y = np.repeat(np.arange(3), counts)
    direct = np.mean([summary(confusion(y, rng.choice(3, size=len(y), p=p), 3))["uf1"] for _ in range(3000)])
    assert out["uf1"] == pytest.approx(float(direct), abs=0.005)
    assert stratified_guess([5, 3, 2, 4, 1, 2, 2])["uf1"] < 1 / 7 - 0.01   # a small test set: well below 1/K
    assert stratified_guess([10, 0, 5])["uf1"] < 1 / 3   # an absent class is never guessed and still counts
