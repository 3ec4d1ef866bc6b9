"""Temporal normalisation: resample a clip (or any per-frame array) along time.

Methods that need a fixed number of frames (LBP-TOP's temporal blocks, fixed-length sequence models) use
`temporal_normalise`, by linear interpolation between the two nearest frames (a one-line weighted sum, so it is
written here rather than pulled from scipy) or by the temporal interpolation model (`tim`); methods that want a
common frame rate across datasets (30 fps CAS(ME)^3 vs 200 fps CASME II) use `resample_rate`.

TIM (Zhou, Zhao & Pietikäinen, "Towards a practical lipreading system", CVPR 2011; used for micro-expressions
by Pfister et al., ICCV 2011, and by the SMIC, CASME II and MEGC2019 LBP-TOP baselines): the m frames of a clip
are the nodes of a path graph (frame i adjacent to frame i+1); the eigenvectors of its graph Laplacian L = D − W
(all but the constant one) embed frame j as the point F(j/m) of a continuous curve in m − 1 dimensions,

    f_k(t) = sin(π k t + π (m − k) / (2m)),  k = 1 .. m − 1,  t in [1/m, 1]

(the closed form of the eigenvectors: f_k(j/m) = cos(π k (j − ½) / m)). A linear map from the curve back to the
frames is learnt from the m frame/curve pairs, and new frames are that map applied at n equally spaced points of
the curve between the first frame (t = 1/m) and the last (t = 1). Because the eigenvectors are orthogonal and
span every zero-mean signal on the m frames, the map is exact: TIM reproduces the input frames at their own
positions, and in between it is the cosine-series (DCT-II) interpolant of each pixel's time series, which is
how `tim` computes it (one (n × m) matrix times the (m × pixels) clip). `tests/preprocess/test_preprocess_temporal.py`
checks it against the Laplacian-eigenvector construction computed independently.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from harness.errors import BadInput


def _like(out: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float64 results back to the input's dtype: integers (uint8 frames) rounded and clipped to their range."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(dtype if dtype != np.float16 else np.float32)


def _interpolate(array: np.ndarray, positions: np.ndarray, axis: int) -> np.ndarray:
    a = np.moveaxis(np.asarray(array), axis, 0)
    n = a.shape[0]
    if n == 0:
        raise BadInput("cannot resample an empty sequence")
    pos = np.clip(positions, 0.0, n - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (pos - i0).reshape((-1,) + (1,) * (a.ndim - 1))
    out = a[i0].astype(np.float64) * (1.0 - w) + a[i1].astype(np.float64) * w
    return np.moveaxis(_like(out, a.dtype), 0, axis)


def path_laplacian_basis(m: int, positions: np.ndarray) -> np.ndarray:
    """(len(positions), m − 1): the non-constant eigenvectors of the m-node path graph's Laplacian, unit norm,
    evaluated on TIM's curve at frame positions 1..m (fractional positions lie between frames)."""
    k = np.arange(1, m)
    return np.cos(np.pi * np.outer(np.asarray(positions, np.float64) - 0.5, k) / m) / np.sqrt(m / 2.0)


def tim(array: np.ndarray, n: int, axis: int = 0) -> np.ndarray:
    """`array` resampled to `n` steps along `axis` by the temporal interpolation model (module docstring).

    The first and last steps are the first and last frames; integer arrays stay integer (rounded, clipped to
    the dtype's range, as the interpolant may overshoot between frames); a single frame is repeated.
    """
    a = np.moveaxis(np.asarray(array), axis, 0)
    m = a.shape[0]
    if m == 0:
        raise BadInput("cannot resample an empty sequence")
    if m == 1:
        return np.moveaxis(np.repeat(a, n, axis=0), 0, axis)
    positions = np.linspace(1.0, m, int(n)) if n > 1 else np.ones(1)
    # out = mean + P Bᵀ (x − mean) = (1/m + P Bᵀ) x, since the eigenvectors B are orthogonal to the constant one:
    # one (n × m) matrix applied to the clip, instead of a mean, a subtraction and two products
    weights = path_laplacian_basis(m, positions) @ path_laplacian_basis(m, np.arange(1, m + 1)).T + 1.0 / m
    out = weights @ a.reshape(m, -1).astype(np.float64)
    return np.moveaxis(_like(out.reshape((len(positions),) + a.shape[1:]), a.dtype), 0, axis)


def _linear(array: np.ndarray, n: int, axis: int) -> np.ndarray:
    length = np.asarray(array).shape[axis]
    positions = np.linspace(0.0, length - 1, int(n)) if n > 1 else np.zeros(1)
    return _interpolate(array, positions, axis)


#: temporal_normalise's methods
METHODS: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {"linear": _linear, "tim": tim}


def temporal_normalise(array: np.ndarray, n: int, axis: int = 0, method: str = "linear") -> np.ndarray:
    """`array` resampled to exactly `n` steps along `axis`; first and last steps are kept as they are.

    method: "linear" (the two nearest frames) or "tim" (the temporal interpolation model). Integer arrays (uint8
    frames) stay integer (rounded); a single frame is repeated.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise BadInput(f"temporal length must be an int >= 1, got {n!r}")
    if method not in METHODS:
        from harness.registry import suggest

        raise BadInput(suggest(method, list(METHODS), "temporal interpolation method"))
    return METHODS[method](array, int(n), axis)


def resample_rate(array: np.ndarray, fps: float, target_fps: float, axis: int = 0) -> np.ndarray:
    """`array` sampled at `target_fps` over the same time span: steps at t = 0, 1/target_fps, ... <= (T-1)/fps."""
    if not fps or fps <= 0 or not target_fps or target_fps <= 0:
        raise BadInput(f"frame rates must be positive, got fps={fps!r}, target_fps={target_fps!r}")
    length = np.asarray(array).shape[axis]
    duration = (length - 1) / float(fps)
    steps = int(np.floor(duration * target_fps + 1e-9)) + 1
    positions = np.arange(steps) * (float(fps) / float(target_fps))
    return _interpolate(array, positions, axis)
