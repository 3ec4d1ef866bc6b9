"""Landmarks, alignment to the template, drift correction and the no-face policy, on a real face moved by
known transforms (scikit-image's astronaut photograph; see harness.preprocess.testing)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from harness.api import Context
from harness.preprocess import align
from harness.preprocess.config import FaceConfig
from harness.preprocess.errors import NoFaceError
from harness.preprocess.landmarks import detect
from harness.preprocess.preprocessor import Preprocessor
from harness.preprocess.regions import ALIGN_POINTS, region_centers
from harness.preprocess.testing import (face_image, make_clip, similarity_matrix, truth_in_aligned,
                                        warp_forward, rigid_field, write_sample)
from tests.face_helpers import face_mask

pytestmark = pytest.mark.mediapipe

MOVES = [similarity_matrix(angle, scale, tx, ty, center=(64, 64)) for angle, scale, tx, ty in
         [(0, 1, 0, 0), (8, 1, 0, 0), (-8, 1, 0, 0), (0, 0.85, 0, 0), (0, 1.15, 0, 0), (0, 1, 9, -6),
          (4, 0.9, -7, 5), (-12, 1.1, 5, 8)]]


@pytest.fixture(scope="module")
def base():
    return face_image(128)


@pytest.fixture(scope="module")
def moved(base):
    return [warp_forward(base, rigid_field(m, (128, 128))) for m in MOVES]



def test_fit_similarity_recovers_a_known_transform():
    m = similarity_matrix(17.0, 1.3, 4.0, -2.5, center=(10, 20))
    src = np.random.default_rng(0).uniform(0, 100, (6, 2))
    np.testing.assert_allclose(align.fit_similarity(src, align.transform_points(m, src)), m, atol=1e-9)
    np.testing.assert_allclose(align.compose(m, align.invert(m)), np.eye(2, 3), atol=1e-12)


def test_landmarks_found_on_every_moved_face_and_move_with_it(base, moved):
    ref = detect(base)
    found = [detect(img) for img in moved]
    assert sum(f is not None for f in found) / len(found) == 1.0  # detection rate on this set
    for m, lm in zip(MOVES, found):
        expected = align.transform_points(m, region_centers(ref, ALIGN_POINTS))
        err = np.linalg.norm(region_centers(lm, ALIGN_POINTS) - expected, axis=1).mean()
        assert err < 1.5, f"alignment points off by {err:.2f} px"


def test_alignment_undoes_a_known_similarity(base, moved):
    size, margin = 128, 0.1
    ref_lm = detect(base)
    m_ref = align.alignment_matrix(ref_lm, size, margin)
    aligned_ref = align.transform_points(m_ref, ref_lm)
    template = align.template_points(size, margin)
    # the template is a typical face, so the fit is close but not exact on this one
    assert np.linalg.norm(region_centers(aligned_ref, ALIGN_POINTS) - template, axis=1).max() < 8
    mask = face_mask(aligned_ref, size)
    for move, img in zip(MOVES, moved):
        lm = detect(img)
        m = align.alignment_matrix(lm, size, margin)
        # residual motion of the aligned face between original and moved image, over the face
        residual = truth_in_aligned(rigid_field(move, (128, 128)), m_ref, m, size)
        mean = np.linalg.norm(residual, axis=-1)[mask].mean()
        assert mean < 1.5, f"aligned faces differ by {mean:.2f} px"


def test_warper_anti_aliases_large_shrinks():
    import cv2

    rng = np.random.default_rng(1)
    big = rng.integers(0, 256, (512, 512), dtype=np.uint8)
    m = np.array([[0.25, 0.0, -0.375], [0.0, 0.25, -0.375]])  # a 4x shrink, pixel centres at integers
    ours = align.Warper(big, m).warp(m, 128).astype(float)
    area = cv2.resize(big, (128, 128), interpolation=cv2.INTER_AREA).astype(float)
    plain = cv2.warpAffine(big, m, (128, 128), flags=cv2.INTER_LINEAR).astype(float)
    assert np.abs(ours - area)[4:-4, 4:-4].mean() < 1.0
    assert plain.std() > 1.7 * ours.std()  # bilinear alone averages 4 of 16 pixels: aliased noise


@pytest.fixture(scope="module")
def head_clip(tmp_path_factory):
    head = lambda t: similarity_matrix(angle_deg=0.2 * t, scale=1 + 0.001 * t, tx=0.4 * t, ty=-0.25 * t,
                                       center=(64, 64))
    return make_clip(tmp_path_factory.mktemp("head") / "clip", n_frames=7, apex_position=3, amplitude=1.0,
                     head=head)


def residual_head_motion(pp: Preprocessor, clip, cfg: FaceConfig) -> np.ndarray:
    track = pp.track(clip.sample, cfg)
    mask = face_mask(track.face.landmarks, cfg.size)
    return np.array([np.linalg.norm(truth_in_aligned(clip.head_displacement(p), track.face.matrix,
                                                     track.matrices[p], cfg.size), axis=-1)[mask].mean()
                     for p in range(len(track.frame_indices))])


def test_drift_correction_removes_rigid_head_motion(head_clip, tmp_path):
    pp = Preprocessor(tmp_path)
    none = residual_head_motion(pp, head_clip, FaceConfig(drift="none"))
    translation = residual_head_motion(pp, head_clip, FaceConfig(drift="translation"))
    similarity = residual_head_motion(pp, head_clip, FaceConfig(drift="similarity"))
    assert none[-1] > 2.0                       # the head really moves (px in the 128 px aligned face)
    assert translation.mean() < 0.6 * none.mean()
    assert similarity.mean() < 0.3 and similarity.max() < 0.5, similarity
    assert similarity.mean() < translation.mean()


def test_track_uses_one_crop_for_the_clip(head_clip, tmp_path):
    pp = Preprocessor(tmp_path)
    track = pp.track(head_clip.sample, FaceConfig(drift="none"))
    assert track.frame_indices == head_clip.sample.frame_indices
    assert all(np.array_equal(m, track.face.matrix) for m in track.matrices)
    assert track.face.reference_frame == head_clip.sample.onset


def test_no_face_error_names_clip_and_frame_and_policy_applies(tmp_path, head_clip):
    blank = write_sample(tmp_path / "blank", [np.full((96, 96, 3), 128, np.uint8)] * 4, "blank-clip")
    pp = Preprocessor(tmp_path / "cache")
    with pytest.raises(NoFaceError) as info:
        pp.face(blank, FaceConfig(detect_tries=2))
    err = info.value
    assert err.sample_id == "blank-clip" and err.frame == 1 and err.tried == (1, 2)
    assert "blank-clip" in str(err) and "frame 1" in str(err)
    with pytest.raises(NoFaceError):
        pp.landmarks(blank)          # the negative answer is cached, and still an error
    assert pp.stats()["hits"].get("landmarks", 0) >= 1

    ctx = Context(classes=("a",), protocol="p", phase=None, fold="f", seed=0, device="cpu", profile="default",
                  config={}, cache_dir=tmp_path / "cache", work_dir=tmp_path)
    batch = pp.map([head_clip.sample, blank], lambda s: pp.face(s).reference_frame, on_no_face="skip", context=ctx)
    assert batch.values == [1] and batch.positions == (0,) and batch.skipped_ids == ("blank-clip",)
    assert ctx.records["preprocess.no_face_skipped"] == 1
    assert ctx.records["preprocess.no_face_samples"] == ["blank-clip"]
    with pytest.raises(NoFaceError):
        pp.map([blank], pp.face, on_no_face="fail")
    from harness.errors import BadInput

    with pytest.raises(BadInput, match="did you mean 'skip'"):
        pp.map([blank], pp.face, on_no_face="skp")


def test_a_faceless_onset_falls_back_to_the_next_frames(tmp_path, base):
    frames = [np.zeros_like(base), base, base]
    sample = write_sample(tmp_path / "late", frames, "late-face")
    face = Preprocessor(tmp_path / "cache").face(sample, FaceConfig(detect_tries=2))
    assert face.reference_frame == 2


def test_frames_outside_the_clip_are_a_clear_error(head_clip, tmp_path):
    from harness.errors import BadInput

    with pytest.raises(BadInput, match="no frame 99"):
        Preprocessor(tmp_path).flow(head_clip.sample, 1, 99)
    with pytest.raises(BadInput, match="no cache_key"):
        Preprocessor(tmp_path).face(dataclasses.replace(head_clip.sample, cache_key=""))


def test_one_drift_measurement_serves_every_face_size(head_clip, tmp_path, base):
    lm = detect(base)
    np.testing.assert_allclose(align.alignment_matrix(lm, 64, 0.1),
                               align.compose(align.resize_matrix(128, 64), align.alignment_matrix(lm, 128, 0.1)),
                               atol=1e-9)  # the template scales with the size, so warps rescale exactly
    pp = Preprocessor(tmp_path)
    big, small = pp.track(head_clip.sample), pp.track(head_clip.sample, FaceConfig(size=64))
    assert pp.stats()["misses"]["track"] == 1  # the 64 px face reused the 128 px drift measurement
    for m128, m64 in zip(big.matrices, small.matrices):
        np.testing.assert_allclose(m64, align.compose(align.resize_matrix(128, 64), m128), atol=1e-9)
    import cv2

    clip64 = pp.aligned_clip(head_clip.sample, FaceConfig(size=64))
    clip128 = pp.aligned_clip(head_clip.sample)
    shrunk = np.stack([cv2.resize(f, (64, 64), interpolation=cv2.INTER_AREA) for f in clip128])
    assert np.abs(clip64.astype(int) - shrunk).mean() < 3
