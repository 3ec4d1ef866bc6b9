"""The Preprocessor end to end on a face clip with known expression and head motion: flow accuracy per backend
on the aligned face, the shapes bundles rely on, region motion, apex spotting, and cached == fresh."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from harness.errors import BadInput
from harness.preprocess import AU_REGIONS, FaceConfig, FlowConfig, Preprocessor
from harness.preprocess.flow import endpoint_error
from harness.preprocess.regions import region_masks
from harness.preprocess.testing import make_clip, similarity_matrix, truth_in_aligned
from tests.face_helpers import face_mask

pytestmark = pytest.mark.mediapipe

# Endpoint error (px, aligned 128 px face, over the face) each backend must beat on the onset->apex pair.
# Measured: dis 0.21, farneback 0.23, tvl1 (3 scales, 3 warps) 0.17; the zero-flow error is 0.42. Part of
# each is the residual head motion left by drift correction (~0.1 px).
BACKENDS = {
    "dis": (FlowConfig("dis"), 0.27),
    "farneback": (FlowConfig("farneback"), 0.3),
    "tvl1": (FlowConfig("tvl1", params={"nscales": 3, "warps": 3, "epsilon": 0.05}), 0.2),
}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    head = lambda t: similarity_matrix(angle_deg=0.1 * t, scale=1.0, tx=0.25 * t, ty=-0.15 * t, center=(64, 64))
    return make_clip(tmp_path_factory.mktemp("pipe") / "clip", n_frames=9, apex_position=4, amplitude=1.2,
                     head=head, fps=100.0)


@pytest.fixture(scope="module")
def pp(tmp_path_factory):
    return Preprocessor(tmp_path_factory.mktemp("cache"))



@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_onset_apex_flow_matches_the_true_motion_on_the_aligned_face(clip, pp, backend):
    cfg, bound = BACKENDS[backend]
    face = FaceConfig()
    result = pp.onset_apex_flow(clip.sample, cfg, face)
    track = pp.track(clip.sample, face)
    apex_pos = clip.apex_position
    truth = truth_in_aligned(clip.displacement(apex_pos), track.face.matrix, track.matrices[apex_pos], face.size)
    mask = face_mask(track.face.landmarks, face.size)
    epe = endpoint_error(result.flow, truth, mask)
    assert epe < bound, f"{backend}: EPE {epe:.3f}"
    print(f"{backend}: EPE {epe:.3f}")
    assert epe < 0.6 * endpoint_error(np.zeros_like(truth), truth, mask)
    assert (result.onset, result.apex, result.apex_spotted) == (1, 5, False)


def test_small_maps_for_featref_and_htnet(clip, pp):
    from harness.preprocess.regions import HTNET_REGIONS, htnet_mosaic, region_centers

    r = pp.onset_apex_flow(clip.sample, FlowConfig(size=28))
    assert r.flow.shape == (28, 28, 2) and r.strain.shape == (28, 28) and r.uvs().shape == (28, 28, 3)
    assert r.u.shape == (28, 28) and np.array_equal(r.v, r.flow[..., 1])
    centers = region_centers(r.landmarks, HTNET_REGIONS)
    assert (centers > 2).all() and (centers < 26).all()
    assert htnet_mosaic(r.uvs(), r.landmarks).shape == (28, 28, 3)
    full = pp.onset_apex_flow(clip.sample)
    # the 28 px map is the area mean of the full one, in its own (4.57x larger) pixels
    np.testing.assert_allclose(r.flow.mean(axis=(0, 1)), full.flow.mean(axis=(0, 1)) * 28 / 128, atol=0.01)


def test_flow_sequence_modes(clip, pp):
    t = len(clip.sample.frame_indices)
    seq = pp.flow_sequence(clip.sample, "from_onset", FlowConfig(size=64))
    assert seq.flow.shape == (t, 64, 64, 2) and seq.pairs[0] == (1, 1) and not seq.flow[0].any()
    assert seq.pairs[-1] == (1, t) and seq.strain().shape == (t, 64, 64)
    cons = pp.flow_sequence(clip.sample, "consecutive", FlowConfig(size=64))
    assert cons.flow.shape == (t - 1, 64, 64, 2) and cons.pairs[0] == (1, 2)
    oa = pp.flow_sequence(clip.sample, "onset_apex", FlowConfig(size=64))
    assert oa.pairs == ((1, 5),)
    # float16 storage: the sequence's onset->apex flow equals the direct one to within 0.01 px
    np.testing.assert_allclose(oa.flow[0], pp.flow(clip.sample, 1, 5, FlowConfig(size=64)), atol=0.01)
    with pytest.raises(BadInput, match="did you mean 'consecutive'"):
        pp.flow_sequence(clip.sample, "consecutiv")


def test_region_motion_sees_brows_and_mouth_corners_rise(clip, pp):
    rm = pp.region_motion(clip.sample)
    t = len(clip.sample.frame_indices)
    assert rm.values.shape == (t, len(AU_REGIONS), 2) and rm.names == AU_REGIONS
    assert rm.frame_indices == clip.sample.frame_indices
    np.testing.assert_allclose(rm.times, np.arange(t) / 100.0)
    apex = rm.values[clip.apex_position]
    up = {n: -apex[AU_REGIONS.index(n), 1] for n in AU_REGIONS}
    assert up["brow_inner_left"] > 0.8 and up["brow_inner_right"] > 0.8
    assert up["mouth_corner_left"] > 0.4 and up["mouth_corner_right"] > 0.4
    assert abs(up["chin"]) < 0.3 and np.abs(rm.values[0]).max() == 0
    # mouth corners also move outwards (subject's left = image right)
    assert apex[AU_REGIONS.index("mouth_corner_left"), 0] > 0 > apex[AU_REGIONS.index("mouth_corner_right"), 0]
    resampled = pp.region_motion(clip.sample, rate=200.0)
    assert resampled.values.shape[0] == 17 and resampled.times[-1] == pytest.approx(0.08)
    fixed = pp.region_motion(clip.sample, n=25)
    assert fixed.values.shape == (25, 17, 2)
    with pytest.raises(BadInput, match="did you mean"):
        pp.region_motion(clip.sample, regions=["brow_inner_lef"])


def test_apex_is_spotted_when_not_annotated(clip, pp):
    smic_like = dataclasses.replace(clip.sample, apex=None, sample_id="no-apex")
    assert abs(pp.spot_apex(smic_like) - (1 + clip.apex_position)) <= 1
    r = pp.onset_apex_flow(smic_like, FlowConfig(size=32))
    assert r.apex_spotted and abs(r.apex - 5) <= 1
    assert pp.apex_frame(clip.sample) == (5, False)


def test_aligned_clip_shapes_and_temporal_normalisation(clip, pp):
    gray = pp.aligned_clip(clip.sample)
    assert gray.shape == (9, 128, 128) and gray.dtype == np.uint8
    rgb = pp.aligned_clip(clip.sample, gray=False)
    assert rgb.shape == (9, 128, 128, 3)
    ten = pp.aligned_clip(clip.sample, FaceConfig(size=64), n=10)
    assert ten.shape == (10, 64, 64)
    # gray aligned frames and RGB aligned frames come from the same warps
    import cv2

    assert np.abs(cv2.cvtColor(rgb[4], cv2.COLOR_RGB2GRAY).astype(int) - gray[4]).mean() < 2


def test_a_second_run_reads_everything_from_the_cache_and_gets_the_same_arrays(clip, tmp_path):
    def run(pp):
        return (pp.onset_apex_flow(clip.sample, FlowConfig(size=48)).flow, pp.region_motion(clip.sample).values,
                pp.aligned_clip(clip.sample), pp.flow_sequence(clip.sample, "consecutive", FlowConfig(size=32)).flow)

    first = Preprocessor(tmp_path)
    a = run(first)
    assert sum(first.stats()["misses"].values()) > 0
    second = Preprocessor(tmp_path)
    b = run(second)
    assert second.stats()["misses"] == {}
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    fresh = run(Preprocessor(tmp_path / "other", use_cache=False))
    for x, y in zip(a, fresh):
        assert np.array_equal(x, y)   # deterministic: a recomputation gives the same bits


def test_region_masks_of_results_are_usable_at_their_own_size(clip, pp):
    r = pp.onset_apex_flow(clip.sample, FlowConfig(size=64))
    masks = region_masks(r.landmarks, AU_REGIONS, r.flow.shape[:2])
    assert masks.shape == (17, 64, 64) and all(m.any() for m in masks)


def test_region_motion_sample_rate_computes_only_grid_frames_with_identical_rows(tmp_path, monkeypatch):
    """A 500 fps clip resampled to 30 Hz needs only the flows at the grid frames; those rows equal the full ones."""
    import numpy as np

    import harness.preprocess.flow as flow_module
    from harness.preprocess import Preprocessor
    from harness.preprocess.testing import make_clip

    sample = make_clip(tmp_path / "clip", n_frames=41, apex_position=20, fps=500.0).sample
    pre = Preprocessor(tmp_path / "cache")
    full = pre.region_motion(sample)
    calls = []
    real = flow_module.compute_flow
    monkeypatch.setattr(flow_module, "compute_flow", lambda *a, **k: calls.append(1) or real(*a, **k))
    sparse = pre.region_motion(sample, sample_rate=30.0)
    assert len(sparse.frame_indices) == 3 and len(calls) == 2  # t = 0, 33, 67 ms; the onset needs no flow
    rows = [list(full.frame_indices).index(f) for f in sparse.frame_indices]
    np.testing.assert_allclose(sparse.values, full.values[rows], atol=1e-6)
