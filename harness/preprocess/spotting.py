"""Apex spotting from a motion curve: the frame of peak facial-region motion relative to the onset.

The curve is computed by `Preprocessor.spot_apex` (flow from the onset frame to every frame, region features
from `motion.region_features`); this module holds the pure part so it can be tested on known curves.
"""
from __future__ import annotations

import numpy as np


def motion_curve(features: np.ndarray) -> np.ndarray:
    """(T,) mean over regions of the motion magnitude of (T, R, 2) region features."""
    f = np.asarray(features, dtype=np.float64)
    return np.linalg.norm(f, axis=-1).mean(axis=-1)


def smooth(curve: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over `window` frames (edges use the frames that exist)."""
    c = np.asarray(curve, dtype=np.float64)
    if window <= 1 or c.size < 2:
        return c
    half = window // 2
    csum = np.concatenate([[0.0], np.cumsum(c)])
    lo = np.clip(np.arange(c.size) - half, 0, c.size)
    hi = np.clip(np.arange(c.size) + half + 1, 0, c.size)
    return (csum[hi] - csum[lo]) / (hi - lo)


def peak_position(curve: np.ndarray, window: int = 3) -> int:
    """Position of the largest smoothed value, never the onset itself (position 0) when later frames exist.

    Ties go to the earliest frame, so the answer is deterministic.
    """
    c = smooth(curve, window)
    if c.size <= 1:
        return 0
    return int(np.argmax(c[1:]) + 1)
