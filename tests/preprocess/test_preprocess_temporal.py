"""The temporal interpolation model (TIM) against a reference computed from the paper's definition (Zhou et al.,
CVPR 2011: the graph Laplacian of the path graph, its eigenvectors as a curve, a linear map back to the frames),
and against properties that any correct TIM has."""
from __future__ import annotations

import numpy as np
import pytest

from harness.errors import BadInput
from harness.preprocess.temporal import temporal_normalise, tim


def _reference_tim(frames: np.ndarray, n: int) -> np.ndarray:
    """TIM built step by step as the paper defines it, with numerical linear algebra.

    1. The m frames are the nodes of a path graph: W[i, i+1] = W[i+1, i] = 1; L = D - W.
    2. The eigenvectors of L, by increasing eigenvalue, without the first (constant, eigenvalue 0), embed frame j
       as row j of Y (m x (m - 1)).
    3. Each eigenvector is the curve f_k(t) = sin(pi k t + pi (m - k) / (2m)) sampled at t = j / m, up to a
       factor (its norm and sign): that factor is read off the first frame.
    4. The linear map from curve points to (mean-removed) frames is fitted by least squares on the m pairs.
    5. New frames: the map applied at n equally spaced points of the curve from t = 1/m to t = 1.
    """
    m = frames.shape[0]
    x = frames.reshape(m, -1).astype(np.float64)
    mean = x.mean(axis=0)
    w = np.zeros((m, m))
    idx = np.arange(m - 1)
    w[idx, idx + 1] = w[idx + 1, idx] = 1.0
    laplacian = np.diag(w.sum(axis=1)) - w
    eigenvalues, vectors = np.linalg.eigh(laplacian)
    assert abs(eigenvalues[0]) < 1e-9 and np.ptp(vectors[:, 0]) < 1e-9        # the constant eigenvector first
    y = vectors[:, 1:]
    k = np.arange(1, m)

    def curve(t: np.ndarray) -> np.ndarray:
        return np.sin(np.pi * np.outer(t, k) + np.pi * (m - k) / (2 * m))

    scale = y[0] / curve(np.array([1.0 / m]))[0]
    np.testing.assert_allclose(curve(np.arange(1, m + 1) / m) * scale, y, atol=1e-9)   # step 3 holds
    mapping, *_ = np.linalg.lstsq(y, x - mean, rcond=None)
    t = np.linspace(1.0 / m, 1.0, n)
    return (mean + (curve(t) * scale) @ mapping).reshape((n,) + frames.shape[1:])


@pytest.mark.parametrize("m, n", [(2, 5), (7, 4), (7, 7), (7, 10), (12, 10), (30, 10)])
def test_tim_equals_the_laplacian_eigenvector_construction(m, n):
    frames = np.random.default_rng(m * 100 + n).normal(size=(m, 5, 6))
    np.testing.assert_allclose(tim(frames, n), _reference_tim(frames, n), atol=1e-9)


def test_interpolating_to_the_same_length_gives_the_frames_back():
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(9, 4, 4))
    np.testing.assert_allclose(tim(frames, 9), frames, atol=1e-10)
    clip = rng.integers(0, 256, (11, 8, 8)).astype(np.uint8)
    out = tim(clip, 11)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, clip)


def test_a_linear_ramp_stays_linear_and_the_ends_are_the_first_and_last_frames():
    for m, n, tolerance in [(5, 9, 0.06), (10, 19, 0.05), (30, 10, 0.005), (8, 8, 1e-9)]:
        ramp = np.arange(m, dtype=np.float64)[:, None, None] * np.ones((1, 2, 3))
        out = tim(ramp, n)
        line = np.linspace(0, m - 1, n)[:, None, None]
        assert np.abs(out - line).max() < tolerance, (m, n)  # in frame steps: the cosine series of a ramp
        assert (np.diff(out[:, 0, 0]) > 0).all()
        np.testing.assert_allclose(out[[0, -1]], ramp[[0, -1]], atol=1e-9)
    flat = np.full((6, 3, 3), 42.0)
    np.testing.assert_allclose(tim(flat, 10), np.full((10, 3, 3), 42.0))


def test_uint8_clips_stay_in_range_and_other_axes_work():
    clip = np.zeros((6, 3, 3), np.uint8)
    clip[2:4] = 255  # a pulse: the cosine interpolant over- and undershoots
    out = temporal_normalise(clip, 10, method="tim")
    assert out.dtype == np.uint8 and out.shape == (10, 3, 3) and out.max() == 255 and out.min() == 0
    x = np.random.default_rng(1).normal(size=(3, 7, 2))
    np.testing.assert_allclose(tim(x, 4, axis=1), np.moveaxis(tim(np.moveaxis(x, 1, 0), 4), 0, 1))
    assert tim(np.ones((1, 2, 2)), 3).shape == (3, 2, 2)


def test_temporal_normalise_names_its_methods():
    x = np.random.default_rng(2).normal(size=(5, 2))
    np.testing.assert_allclose(temporal_normalise(x, 8, method="tim"), tim(x, 8))
    with pytest.raises(BadInput, match="did you mean 'tim'"):
        temporal_normalise(x, 8, method="tin")
