"""The three bundles' fit/predict logic on a stand-in for the shared preprocessing (no face detection here: the
end-to-end runs on the synthetic corpus are in test_bundles_e2e.py). Checked: every test sample gets a
prediction (faceless ones the training majority), records, config validation, learning, determinism."""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pytest

from harness.api import Context, LabelledSample, Sample, TrainSet
from harness.api import TestSet as UnlabelledSet  # (pytest would try to collect a Test* name)
from harness.errors import BadInput
from harness.preprocess import NoFaceError
from harness.preprocess.preprocessor import Batch
from harness.bundles.loader import instantiate
from harness.bundles.manifest import load_bundle
from harness.runner.inner import inner_split
from tests.baselines.helpers import REPO

CLASSES = ("negative", "positive", "surprise")
DIRECTIONS = np.array([[1.0, 0.0], [0.0, -1.0], [-1.0, 0.0]])  # each class moves a patch its own way


@dataclass
class _Flow:
    flow: np.ndarray
    strain: np.ndarray

    def uvs(self) -> np.ndarray:
        return np.dstack([self.flow, self.strain]).astype(np.float32)


class FakePreprocess:
    """The `context.preprocess` calls the bundles make, answered from a known world: sample -> class."""

    def __init__(self, truth: dict[str, int], faceless: set[str] = frozenset()):
        self.truth, self.faceless = truth, faceless
        self.cache = self

    def get_or_compute(self, kind, identity, compute):
        return compute()

    def map(self, samples, fn, *, on_no_face=None, context=None):
        values, positions, ids = [], [], []
        for i, s in enumerate(samples):
            try:
                values.append(fn(s))
            except NoFaceError:
                continue
            positions.append(i)
            ids.append(s.sample_id)
        return Batch(values, tuple(positions), tuple(ids))

    def _rng(self, sample) -> np.random.Generator:
        if sample.sample_id in self.faceless:
            raise NoFaceError(sample.sample_id, 0)
        return np.random.default_rng(zlib.crc32(sample.sample_id.encode()))

    def onset_apex_flow(self, sample, flow=None, face=None) -> _Flow:
        rng = self._rng(sample)
        size = flow.size or 32
        f = 0.1 * rng.normal(size=(size, size, 2))
        q = size // 4
        f[q:3 * q, q:3 * q] += DIRECTIONS[self.truth[sample.sample_id]]
        from harness.preprocess.strain import strain

        return _Flow(f.astype(np.float32), strain(f))

    def aligned_clip(self, sample, face=None, *, gray=True, n=None) -> np.ndarray:
        rng = self._rng(sample)
        base = rng.integers(60, 200, (40, 40)).astype(np.float64)
        d = DIRECTIONS[self.truth[sample.sample_id]]
        frames = [np.roll(base, (int(round(-d[1] * t / 3)), int(round(d[0] * t / 3))), axis=(0, 1))
                  for t in range(n or 24)]
        return np.clip(frames, 0, 255).astype(np.uint8)


def _world(n_subjects: int = 6, per_class: int = 2, faceless_test: bool = True):
    truth, train, test = {}, [], []
    for s in range(n_subjects):
        for c in range(len(CLASSES)):
            for j in range(per_class):
                sid = f"sub{s}/c{c}_{j}"
                truth[sid] = c
                common = dict(sample_id=sid, dataset="toy", subject=f"sub{s}", fps=30.0, onset=0, apex=3, offset=6,
                              frame_indices=tuple(range(7)), frames_dir="", frame_files=(), cache_key=sid)
                if s < n_subjects - 1:
                    train.append(LabelledSample(**common, label=CLASSES[c], label_index=c))
                else:
                    test.append(Sample(**common))
    faceless = {test[0].sample_id} if faceless_test else set()
    return TrainSet(train, CLASSES), UnlabelledSet(test, CLASSES), FakePreprocess(truth, faceless)


def _context(tmp_path, pre, seed: int = 0) -> Context:
    ctx = Context(classes=CLASSES, protocol="toy", phase=None, fold="sub5", seed=seed, device="cpu", profile="quick",
                  config={}, cache_dir=tmp_path / "cache", work_dir=tmp_path / "work", preprocessor=pre,
                  inner_splitter=inner_split)
    return ctx


def _bundle(name: str, **overrides):
    b = load_bundle(REPO / "baselines" / name)
    return instantiate(b, b.resolve_config("quick", overrides)[1])


@pytest.mark.parametrize("name, n_features, overrides", [
    ("lbp-top", 5 * 5 * 3 * 15, {"radius_t": 2}),                     # P = 4 (the MEGC2019 setting): 15 bins
    ("lbp-top", 5 * 5 * 3 * 59, {"points_xy": 8, "points_xt": 8, "points_yt": 8, "temporal": "linear"}),
    ("bi-woof", 200, {}),
])
def test_svm_baselines_predict_every_test_sample_and_record_what_they_did(tmp_path, name, n_features, overrides):
    train, test, pre = _world()
    ctx = _context(tmp_path, pre)
    model = _bundle(name, **overrides)
    model.fit(train, ctx)
    out = model.predict(test, ctx)
    assert len(out.labels) == len(test)
    truth = np.array([pre.truth[s.sample_id] for s in test])
    faceless = [i for i, s in enumerate(test) if s.sample_id in pre.faceless]
    assert [out.labels[i] for i in faceless] == [model.majority_]
    rest = [i for i in range(len(test)) if i not in faceless]
    assert (np.array(out.labels)[rest] == truth[rest]).mean() >= 0.8  # the directions are learnable
    rec = ctx.records
    assert rec["n_features"] == n_features and rec["test_no_face_majority"] == 1 and rec["train_no_face"] == 0
    assert rec["svm_C_by"] == "inner-cv" and rec["svm_C"] in model.svm.C and rec["latency_ms"] > 0


def test_featref_learns_records_cost_and_is_deterministic_for_a_seed(tmp_path):
    train, test, pre = _world(per_class=4)
    tiny = {"width": 2, "reduce": 4, "dim": 8, "epochs": 12, "size": 16, "lr": 0.003}
    probas = []
    for run in range(2):
        ctx = _context(tmp_path / str(run), pre)
        model = _bundle("featref", **tiny)
        model.fit(train, ctx)
        out = model.predict(test, ctx)
        probas.append(out.proba)
    np.testing.assert_array_equal(probas[0], probas[1])
    truth = np.array([pre.truth[s.sample_id] for s in test])
    assert (np.array(out.labels)[1:] == truth[1:]).mean() >= 0.8
    assert out.labels[0] == model.majority_ and ctx.records["test_no_face_majority"] == 1
    rec = ctx.records
    assert rec["n_params"] > 0 and rec["flops"] > 0 and rec["latency_ms"] > 0 and rec["epochs_run"] == 12


def test_featref_proposal_weight_reaches_the_loss_and_changes_the_trained_weights(tmp_path):
    """The `no-proposal-loss` ablation row once equalled `full` to every digit: the weight does reach the loss
    (the two rows differ in their probabilities, just not in an argmax). Same seed, same data: only λ differs."""
    train, test, pre = _world(per_class=4)
    tiny = {"width": 2, "reduce": 4, "dim": 8, "epochs": 4, "size": 16}
    states, probas = {}, {}
    for lam in (0.0, 1.0):
        ctx = _context(tmp_path / str(lam), pre)
        model = _bundle("featref", proposal_weight=lam, **tiny)
        model.fit(train, ctx)
        states[lam] = {k: v.detach().clone() for k, v in model.model.state_dict().items()}
        probas[lam] = model.predict(test, ctx).proba
    shared = [k for k in states[0.0] if k.startswith("shared.") and k.endswith("weight")]
    changed = [k for k in shared if not np.array_equal(states[0.0][k].numpy(), states[1.0][k].numpy())]
    assert changed == shared  # the proposal loss's gradient reaches every shared layer, not only its own heads
    assert np.abs(probas[0.0] - probas[1.0]).max() > 1e-4


def test_featref_early_stopping_uses_the_inner_split_of_training_subjects(tmp_path, monkeypatch):
    from tests.fixtures.inner import InnerSplitSpy, assert_early_stopping_used_the_inner_split, watch_training

    train, test, pre = _world(per_class=2)
    ctx = _context(tmp_path, pre)
    ctx.inner_splitter = splits = InnerSplitSpy()
    fits = watch_training(monkeypatch)
    model = _bundle("featref", width=2, reduce=4, dim=8, epochs=6, size=16, early_stopping=True, patience=2)
    model.fit(train, ctx)
    assert 1 <= ctx.records["epochs_run"] <= 6 and "best_epoch_inner" in ctx.records
    assert_early_stopping_used_the_inner_split(train, splits, fits)


@pytest.mark.parametrize("name, overrides, message", [
    ("lbp-top", {"frams": 20}, "did you mean 'frames'"),
    ("lbp-top", {"frames": 6, "radius_t": 4}, "too few"),
    ("bi-woof", {"bin_edges": "histogram"}, "bin_edges"),
    ("bi-woof", {"flow_backend": "tvl"}, "did you mean 'tvl1'"),
    ("featref", {"in_channels": 3}, "channels"),
    ("featref", {"fusion": "max"}, "fusion"),
])
def test_bad_configs_are_refused_when_the_bundle_is_built(name, overrides, message):
    b = load_bundle(REPO / "baselines" / name)
    with pytest.raises(BadInput, match=message):
        instantiate(b, b.resolve_config("quick", overrides)[1])
