"""The scale speed-ups keep their results: each one against what it replaced, on the same input.

- cache entries as one raw file (`encode_entry`) instead of a zip archive: the same arrays and metadata, bit for
  bit, and the archives written before still read (and verify);
- region motion on a frame grid aligns only those frames, with the same rows as the full computation;
- TIM as one (n x m) matrix: the same frames as the two-step cosine-series form it replaced;
- concurrent folds: a sample another fold's supervisor is computing is put off, not waited for;
- the stage clock: nested stages are exclusive and add up.
"""
from __future__ import annotations

import io
import json
import multiprocessing as mp
import time

import numpy as np
import pytest

from harness.preprocess.cache import RAW_DTYPES, Cache, decode_entry, encode_entry, entry_mac


# --- region motion on a frame grid ---------------------------------------------------------------------------------
@pytest.mark.mediapipe
def test_region_motion_on_a_grid_aligns_only_the_grid_frames_with_the_full_rows(tmp_path, monkeypatch):
    from harness.preprocess import Preprocessor
    from harness.preprocess.preprocessor import Preprocessor as P
    from harness.preprocess.testing import make_clip

    sample = make_clip(tmp_path / "clip", n_frames=41, apex_position=20, fps=500.0).sample
    aligned: list[int] = []
    real = P._stabilise_frames
    monkeypatch.setattr(P, "_stabilise_frames",
                        lambda self, s, cfg, frames, face: aligned.append(len(frames)) or real(self, s, cfg, frames,
                                                                                               face))
    sparse = Preprocessor(tmp_path / "cold").region_motion(sample, sample_rate=30.0)   # no track cached
    assert aligned == [len(sparse.frame_indices)] == [3]   # the onset (t = 0) and two grid frames, not 41
    full = Preprocessor(tmp_path / "other").region_motion(sample)
    rows = [list(full.frame_indices).index(f) for f in sparse.frame_indices]
    assert np.array_equal(sparse.values, full.values[rows])   # the same bits
    assert aligned[-1] == 41


# --- TIM -----------------------------------------------------------------------------------------------------------
def _tim_two_steps(array: np.ndarray, n: int) -> np.ndarray:
    """TIM as it was computed before: coefficients on the Laplacian eigenvectors, then the curve at n points."""
    from harness.preprocess.temporal import _like, path_laplacian_basis

    a = np.asarray(array)
    m = a.shape[0]
    x = a.reshape(m, -1).astype(np.float64)
    mean = x.mean(axis=0)
    coefficients = path_laplacian_basis(m, np.arange(1, m + 1)).T @ (x - mean)
    out = mean + path_laplacian_basis(m, np.linspace(1.0, m, n)) @ coefficients
    return _like(out.reshape((n,) + a.shape[1:]), a.dtype)


def test_tim_as_one_matrix_gives_the_frames_of_the_two_step_form():
    from harness.preprocess.temporal import tim

    rng = np.random.default_rng(5)
    for m in (2, 3, 7, 10, 33, 120):
        clip = rng.integers(0, 256, (m, 64, 64), dtype=np.uint8)
        assert np.array_equal(tim(clip, 10), _tim_two_steps(clip, 10)), m   # uint8 frames: identical
        seq = rng.normal(size=(m, 17, 2))
        np.testing.assert_allclose(tim(seq, 16), _tim_two_steps(seq, 16), rtol=0, atol=1e-12)


# --- the stage clock --------------------------------------------------------------------------------------------
def test_nested_stages_are_exclusive_and_add_up():
    from harness.preprocess.timing import StageClock, merge

    clock = StageClock()
    t0 = time.perf_counter()
    with clock.stage("outer"):
        time.sleep(0.02)
        with clock.stage("inner"):
            time.sleep(0.05)
        time.sleep(0.02)
    total = time.perf_counter() - t0
    report = clock.report()
    assert report["inner"]["wall_s"] >= 0.045 and 0.035 <= report["outer"]["wall_s"] < 0.045 + 0.02
    assert abs(report["inner"]["wall_s"] + report["outer"]["wall_s"] - total) < 0.005
    both = merge(report, report)
    assert both["inner"]["calls"] == 2 and both["outer"]["wall_s"] == pytest.approx(2 * report["outer"]["wall_s"])
