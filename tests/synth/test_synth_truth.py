"""The ground-truth API against the frames actually written: displacement conventions, magnitudes, and that
warping a frame back by the true displacement recovers the first frame."""
from __future__ import annotations

import numpy as np
import pytest

from harness.synth.config import SynthConfig

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Clean frames (no sensor noise, no flicker, near-lossless JPEG) so that pixel checks measure geometry."""
    from harness.synth.writer import generate

    root = tmp_path_factory.mktemp("synth-truth")
    cfg = SynthConfig(size=96, noise=0.0, flicker=0.0, jpeg_quality=100, samples_per_subject=5)
    generate(root, "casme2,casme3", seed=7, config=cfg, subjects=2, workers=1, progress=False)
    return root


@pytest.fixture(scope="module")
def truths(corpus):
    from harness.synth.truth import load_truth, sample_ids

    return [load_truth(corpus, key, sid) for key in ("casme2", "casme3") for sid in sample_ids(corpus, key)]


def _rigid(m, shape):
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    return np.stack([m[0, 0] * xs + m[0, 1] * ys + m[0, 2] - xs, m[1, 0] * xs + m[1, 1] * ys + m[1, 2] - ys], -1)


def test_first_frame_is_the_reference(truths):
    for t in truths:
        f0 = int(t.frame_indices[0])
        assert np.array_equal(t.head_transform(f0), np.array([[1.0, 0, 0], [0, 1.0, 0]]))
        assert np.abs(t.displacement(f0)).max() < 1e-5


def test_displacement_at_onset_is_head_motion_only(truths):
    for t in truths:
        cols = [t.au_names.index(a) for a in t.aus]
        k = t.onset - int(t.frame_indices[0])
        assert np.all(t.au_intensity[k, cols] == 0), t.sample_id  # the expression has not started
        if "45" in t.au_names and t.au_intensity[k, t.au_names.index("45")] > 0:
            continue  # a blink under way at the onset
        expect = _rigid(t.head_transform(t.onset), t.size) * t.head_mask[..., None]
        assert np.abs(t.displacement(t.onset) - expect).max() < 1e-3


def test_apex_displacement_is_a_pixel_or_two(truths):
    peaks = []
    for t in truths:
        k = t.apex - int(t.frame_indices[0])
        expression_only = np.tensordot(t.au_intensity[k, [t.au_names.index(a) for a in t.aus]],
                                       t.basis[[t.au_names.index(a) for a in t.aus]], axes=(0, 0))
        peaks.append(float(np.hypot(expression_only[..., 0], expression_only[..., 1]).max()))
    print(f"\napex AU displacement (px): median {np.median(peaks):.2f}, range {min(peaks):.2f}..{max(peaks):.2f}")
    assert 1.0 <= np.median(peaks) <= 2.2
    assert min(peaks) > 0.4 and max(peaks) < 4.0


def test_au_apexes_in_truth_match_the_expression(truths):
    for t in truths:
        assert t.onset <= t.apex <= t.offset
        for au, frame in t.au_apex.items():
            assert t.onset <= frame <= t.offset, (t.sample_id, au)
        on, ap, off = t.annotated
        assert on <= off and (ap is None or on <= ap <= off)


def test_flow_is_the_difference_of_displacements(truths):
    t = truths[0]
    a, b = t.onset, t.apex
    assert np.allclose(t.flow(a, b), t.displacement(b) - t.displacement(a))
    assert t.face_box[0] < t.face_box[2] and t.face_box[1] < t.face_box[3]


def test_renderer_inverts_the_true_forward_map():
    """The renderer samples the first frame at p with H(p + A(p)) = y; check that forward-mapping those p lands
    back on the pixel grid."""
    import cv2

    from harness.synth.aus import evaluate, unit_components
    from harness.synth.face import face_unit, landmarks, sample_face
    from harness.synth.render import source_map
    from harness.synth.seeds import rng

    size = 128
    p = sample_face(rng(1, "inverse"))
    lm, unit = landmarks(p, size), face_unit(p, size)
    a = sum(w * evaluate(unit_components(n, lm, unit, size), size, size) * 2.0
            for n, w in (("4", 1.0), ("L12", 0.8), ("17", 0.6))).astype(np.float32)
    th = np.deg2rad(0.4)
    m = np.array([[np.cos(th), -np.sin(th), 0.7], [np.sin(th), np.cos(th), -0.4]])
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    px, py = source_map(a, m, xs, ys)
    s = cv2.remap(a, px, py, cv2.INTER_LINEAR)
    fx = m[0, 0] * (px + s[..., 0]) + m[0, 1] * (py + s[..., 1]) + m[0, 2]
    fy = m[1, 0] * (px + s[..., 0]) + m[1, 1] * (py + s[..., 1]) + m[1, 2]
    err = np.hypot(fx - xs, fy - ys)[8:-8, 8:-8]
    assert err.max() < 0.02


def test_warping_a_frame_back_by_the_true_displacement_recovers_the_first_frame(corpus, truths):
    import cv2

    from harness.datasets import load_dataset
    from harness.datasets.frames import list_frames
    from harness.imageio import read_frames

    dirs = {(k, r.sample_id): r.clip_dir for k in ("casme2", "casme3")
            for r in load_dataset(corpus, k).table.itertuples()}
    before, after = [], []
    for t in truths:
        frames = list_frames(dirs[(t.dataset, t.sample_id)])
        f0 = int(t.frame_indices[0])
        first, apex = (x.astype(np.float32).mean(-1) for x in read_frames([frames[f0], frames[t.apex]]))
        d = t.displacement(t.apex)
        h, w = t.size
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        back = cv2.remap(apex, xs + d[..., 0], ys + d[..., 1], cv2.INTER_CUBIC)
        inner = cv2.erode(t.head_mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        moving = inner & (np.hypot(d[..., 0], d[..., 1]) > 0.3)
        if moving.sum() < 20:
            continue
        before.append(np.abs(apex - first)[moving].mean())
        after.append(np.abs(back - first)[moving].mean())
    print(f"\nwhere the truth says >0.3 px of motion: |apex - first| {np.mean(before):.2f} grey levels, "
          f"after warping back {np.mean(after):.2f} ({len(before)} clips)")
    assert len(before) >= 10
    assert np.mean(after) < 0.6 * np.mean(before)


def test_unknown_sample_id_is_a_clear_error(corpus):
    from harness.errors import BadInput
    from harness.synth.truth import load_truth, sample_ids

    sid = sample_ids(corpus, "casme2")[0]
    with pytest.raises(BadInput, match="did you mean"):
        load_truth(corpus, "casme2", sid + "x")
    with pytest.raises(BadInput, match="only corpora written"):
        load_truth(corpus, "samm", "006_1_1")
