"""The fullseq-transformer bundle above the model: sequence shaping, ablation switches, a tiny deterministic fit.

A fake preprocessor stands in for `context.preprocess` (it returns region motion whose moving region and timing
depend on the class), so these tests are fast and need neither frames nor MediaPipe; the real pipeline is
exercised by the end-to-end test at the bottom.
"""
from __future__ import annotations

import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from harness.api import Context, LabelledSample, Sample, TrainSet
from harness.api import TestSet as UnlabelledSet  # (not collected by pytest)
from harness.errors import BadInput
from harness.runner.inner import inner_split
from tests.fullseq_helpers import BUNDLE_DIR, bundle_module

features = bundle_module("features")
system = bundle_module("system")
CLASSES = ("a", "b", "c")
R = features.n_regions()


# --- a fake shared preprocessor -----------------------------------------------------------------------------------
@dataclass
class _Motion:
    values: np.ndarray
    frame_indices: tuple[int, ...]


@dataclass
class _Batch:
    values: list
    positions: tuple[int, ...]


class FakePreprocess:
    """Region motion with class-specific regions and timing: class c moves region 3c up to the apex and
    region 3c+1 late (an asynchronous AU); samples named 'noface*' have no face."""

    def __init__(self):
        self.faces, self.flows = [], []

    def region_motion(self, sample, regions, flow, face, top_p=0.3, global_p=0.7, sample_rate=None):
        """Like the real one: with sample_rate, only the rows at the frames nearest that grid."""
        from harness.preprocess.preprocessor import grid_positions

        full = self._full_motion(sample, regions, flow, face)
        if sample_rate is None or sample.fps <= sample_rate:
            return full
        keep = grid_positions((np.asarray(sample.frame_indices) - sample.frame_indices[0]) / sample.fps, sample_rate)
        return _Motion(full.values[keep], tuple(sample.frame_indices[i] for i in keep))

    def _full_motion(self, sample, regions, flow, face):
        self.faces.append(face)
        self.flows.append(flow)
        rng = np.random.default_rng(zlib.crc32(sample.sample_id.encode()))
        t = np.arange(sample.n_frames, dtype=float)
        c = int(sample.sample_id.split("_")[1])
        v = rng.normal(0, 0.05, (len(t), len(regions), 2)).astype(np.float32)
        v[0] = 0.0
        apex = sample.position(sample.apex)
        late = min(len(t) - 1, apex + len(t) // 3)
        v[:, 3 * c, 1] += np.exp(-0.5 * ((t - apex) / 2.0) ** 2)
        v[:, 3 * c + 1, 0] += np.exp(-0.5 * ((t - late) / 2.0) ** 2)
        return _Motion(v, sample.frame_indices)

    def apex_frame(self, sample):
        return sample.apex, False

    def map(self, samples, fn, on_no_face=None, context=None):
        values, positions = [], []
        for i, s in enumerate(samples):
            if s.sample_id.startswith("noface"):
                continue
            values.append(fn(s))
            positions.append(i)
        return _Batch(values, tuple(positions))


def _sample(cls, i: int, n_frames: int, fps: float, labelled=True, prefix="s"):
    frames = tuple(range(1, n_frames + 1))
    common = dict(sample_id=f"{prefix}{i}_{cls}", dataset="toy", subject=f"sub{i % 6}", fps=fps, onset=1,
                  apex=1 + n_frames // 3, offset=n_frames, frame_indices=frames, frames_dir="/nonexistent",
                  frame_files=tuple(f"{f}.jpg" for f in frames), cache_key=f"k{prefix}{i}")
    if labelled:
        return LabelledSample(**common, label=CLASSES[cls], label_index=cls, emotion=CLASSES[cls], aus="")
    return Sample(**common)


def _data(n=36, seed=0):
    rng = np.random.default_rng(seed)
    train = [_sample(i % 3, i, int(rng.integers(20, 60)), float(rng.choice([100.0, 200.0]))) for i in range(n)]
    test = [_sample(i % 3, 100 + i, int(rng.integers(20, 60)), 200.0, labelled=False, prefix="t") for i in range(12)]
    return TrainSet(train, CLASSES), UnlabelledSet(test, CLASSES)


def _context(pre=None, seed=0):
    ctx = Context(classes=CLASSES, protocol="toy", phase=None, fold="f0", seed=seed, device="cpu", profile="quick",
                  config={}, cache_dir=Path(tempfile.mkdtemp()), work_dir=Path(tempfile.mkdtemp()),
                  preprocessor=pre or FakePreprocess(), inner_splitter=inner_split)
    return ctx


TINY = dict(dim=16, depth=5, heads=2, dim_head=8, mlp_dim=32, epochs=25, batch_size=16, lr=3e-3, max_len=12,
            rate=30.0)


# --- sequence shaping ---------------------------------------------------------------------------------------------
def test_full_mode_resamples_to_common_rate_and_caps_length():
    cfg = features.FeatureConfig(rate=30.0, max_len=16)
    v = np.random.default_rng(0).normal(size=(101, R, 2)).astype(np.float32)   # 0.5 s at 200 fps
    seq = features.shape_sequence(v, 200.0, cfg)
    assert seq.shape == (16, R, 2)                                          # 16 steps at 30 Hz, kept whole
    np.testing.assert_allclose(seq[0], v[0])
    np.testing.assert_allclose(seq[-1], v[-1], atol=1e-6)                    # the end of the clip survives the cap
    short = features.shape_sequence(v[:41], 200.0, cfg)                       # 0.2 s -> 7 steps at 30 Hz
    assert short.shape == (7, R, 2)
    assert features.shape_sequence(v[:7], 30.0, cfg).shape == (7, R, 2)      # 30 fps stays as it is


def test_onset_apex_mode_uses_exactly_two_steps():
    cfg = features.FeatureConfig(mode="onset_apex")
    v = np.random.default_rng(1).normal(size=(50, R, 2)).astype(np.float32)
    seq = features.shape_sequence(v, 200.0, cfg, apex_position=17)
    assert seq.shape == (2, R, 2) and cfg.steps == 2
    np.testing.assert_array_equal(seq[0], v[0])
    np.testing.assert_array_equal(seq[1], v[17])
    with pytest.raises(ValueError, match="apex"):
        features.shape_sequence(v, 200.0, cfg)


def test_pad_batch_marks_real_steps():
    x, valid = features.pad_batch([np.ones((3, R, 2)), np.ones((5, R, 2))], 6)
    assert x.shape == (2, 6, R, 2) and valid.sum(1).tolist() == [3, 5]
    assert (x[~valid] == 0).all()


# --- the bundle: switches, determinism, learning --------------------------------------------------------------------
def test_profiles_build_and_typos_are_caught():
    from harness.bundles.manifest import load_bundle

    bundle = load_bundle(BUNDLE_DIR)
    for name in ("quick", "paper"):
        _, cfg = bundle.resolve_config(name)
        system.FullSeqTransformer(**cfg)
        assert cfg["readout"] == "cls"  # the MEGC2024 code's readout; attention pooling is a named variant
    variants = bundle.extra["ablations"]["variants"]
    assert set(variants) == {"full", "attention-readout", "onset-apex", "no-region-attention", "no-drift-correction"}
    assert variants["attention-readout"] == {"readout": "attention"}
    with pytest.raises(BadInput, match="did you mean 'region_attention'"):
        system.FullSeqTransformer(region_atention=False)


def test_ablation_switches_change_what_they_claim():
    train, test = _data(12)
    runs = {}
    for name, over in {"full": {}, "attention-readout": {"readout": "attention"}, "onset-apex": {"mode": "onset_apex"},
                       "no-region-attention": {"region_attention": False},
                       "no-drift-correction": {"drift": "none"}}.items():
        pre = FakePreprocess()
        s = system.FullSeqTransformer(**{**TINY, "epochs": 1, **over})
        ctx = _context(pre)
        s.fit(train, ctx)
        runs[name] = (s, pre, ctx)
    full, oa = runs["full"][0], runs["onset-apex"][0]
    assert full.model.pos.shape[1] == TINY["max_len"] + 1 and oa.model.pos.shape[1] == 3
    assert runs["onset-apex"][2].records["seq_len_max"] == 2 == runs["onset-apex"][2].records["seq_len_min"]
    assert runs["full"][2].records["seq_len_max"] > 2
    assert full.model.regions.score is not None and runs["no-region-attention"][0].model.regions.score is None
    assert full.model.pool is None and runs["attention-readout"][0].model.pool is not None
    assert {f.drift for f in runs["full"][1].faces} == {"similarity"}
    assert {f.drift for f in runs["no-drift-correction"][1].faces} == {"none"}
    for _, _, ctx in runs.values():
        assert ctx.records["n_params"] > 0 and ctx.records["latency_ms"] > 0


def test_tiny_fit_is_deterministic_and_learns_the_toy_task():
    train, test = _data()
    probas = []
    for _ in range(2):
        s = system.FullSeqTransformer(**TINY)
        s.fit(train, _context())
        probas.append(s.predict(test, _context()).proba)
    np.testing.assert_array_equal(probas[0], probas[1])
    truth = np.array([int(t.sample_id.split("_")[1]) for t in test])
    assert (probas[0].argmax(1) == truth).mean() >= 0.75    # chance is 1/3


def test_faceless_test_clips_still_get_a_prediction_and_early_stopping_uses_the_inner_split(monkeypatch):
    from tests.fixtures.inner import InnerSplitSpy, assert_early_stopping_used_the_inner_split, watch_training

    train, _ = _data()
    test = UnlabelledSet([_sample(0, 1, 30, 200.0, labelled=False, prefix="noface"),
                    _sample(1, 2, 30, 200.0, labelled=False, prefix="t")], CLASSES)
    s = system.FullSeqTransformer(**{**TINY, "epochs": 3, "early_stopping": True, "patience": 2})
    ctx = _context()
    ctx.inner_splitter = splits = InnerSplitSpy()
    fits = watch_training(monkeypatch)
    s.fit(train, ctx)
    pred = s.predict(test, ctx)
    assert len(pred.labels) == 2 and np.allclose(pred.proba.sum(1), 1)
    assert 1 <= ctx.records["best_epoch"] <= 3
    assert_early_stopping_used_the_inner_split(train, splits, fits)


def test_mirror_swaps_twin_regions_and_negates_horizontal_motion():
    names = features.region_names()
    perm = features.mirror_permutation(names)
    assert sorted(perm) == list(range(len(names)))
    i, j = names.index("brow_inner_right"), names.index("brow_inner_left")
    assert perm[i] == j and perm[j] == i and perm[names.index("chin")] == names.index("chin")
    v = np.random.default_rng(2).normal(size=(5, len(names), 2)).astype(np.float32)
    m = features.mirror(v, names)
    np.testing.assert_array_equal(m[:, j, 0], -v[:, i, 0])
    np.testing.assert_array_equal(m[:, j, 1], v[:, i, 1])
    np.testing.assert_array_equal(features.mirror(m, names), v)


def test_paper_profile_trains_with_early_stopping_on_the_inner_split(monkeypatch):
    """The paper profile's full-size network (dim 64, 8 x 64 heads, 5 layers, 25 steps) runs a short fit."""
    from harness.bundles.manifest import load_bundle

    from tests.fixtures.inner import InnerSplitSpy, assert_early_stopping_used_the_inner_split, watch_training

    _, cfg = load_bundle(BUNDLE_DIR).resolve_config("paper", {"epochs": 2})
    assert cfg["early_stopping"] is True
    train, test = _data(24)
    s = system.FullSeqTransformer(**cfg)
    ctx = _context()
    ctx.inner_splitter = splits = InnerSplitSpy()
    fits = watch_training(monkeypatch)
    s.fit(train, ctx)
    assert s.model.pos.shape[1] == 26 and len(s.model.layers) == 5
    assert ctx.records["n_params"] > 500_000 and ctx.records["epochs_run"] <= 2
    assert_early_stopping_used_the_inner_split(train, splits, fits)
    assert s.predict(test, ctx).proba.shape == (len(test), len(CLASSES))
