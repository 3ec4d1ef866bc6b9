"""Temporal normalisation: resample a clip (or any per-frame array) along time by linear interpolation.

Methods that need a fixed number of frames (LBP-TOP's temporal blocks, fixed-length sequence models) use
`temporal_normalise`; methods that want a common frame rate across datasets (30 fps CAS(ME)^3 vs 200 fps
CASME II) use `resample_rate`. Linear interpolation between the two nearest frames, as the issue asks; it is
a one-line weighted sum, so it is written here rather than pulled from scipy. MEB's TIM (graph-embedding
interpolation) is not reproduced.
"""
from __future__ import annotations

import numpy as np

from harness.errors import BadInput


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
    if np.issubdtype(a.dtype, np.integer):
        info = np.iinfo(a.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return np.moveaxis(out.astype(a.dtype if a.dtype != np.float16 else np.float32), 0, axis)


def temporal_normalise(array: np.ndarray, n: int, axis: int = 0) -> np.ndarray:
    """`array` resampled to exactly `n` steps along `axis`; first and last steps are kept as they are.

    Integer arrays (uint8 frames) stay integer (rounded); a single frame is repeated.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise BadInput(f"temporal length must be an int >= 1, got {n!r}")
    length = np.asarray(array).shape[axis]
    positions = np.linspace(0.0, length - 1, int(n)) if n > 1 else np.zeros(1)
    return _interpolate(array, positions, axis)


def resample_rate(array: np.ndarray, fps: float, target_fps: float, axis: int = 0) -> np.ndarray:
    """`array` sampled at `target_fps` over the same time span: steps at t = 0, 1/target_fps, ... <= (T-1)/fps."""
    if not fps or fps <= 0 or not target_fps or target_fps <= 0:
        raise BadInput(f"frame rates must be positive, got fps={fps!r}, target_fps={target_fps!r}")
    length = np.asarray(array).shape[axis]
    duration = (length - 1) / float(fps)
    steps = int(np.floor(duration * target_fps + 1e-9)) + 1
    positions = np.arange(steps) * (float(fps) / float(target_fps))
    return _interpolate(array, positions, axis)
