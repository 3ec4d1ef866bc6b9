"""Bi-WOOF: Bi-Weighted Oriented Optical Flow (Liong, See, Wong & Phan, Signal Processing: Image Communication
62:82-92, 2018), from the onset->apex flow and its optical strain.

Per block of a rows x cols grid: a histogram of flow orientations where each pixel votes with its flow magnitude
(the local weight), normalised to sum 1, then multiplied by the block's summed optical strain (the global
weight). The blocks' histograms are concatenated and the whole vector is L2-normalised.

Orientation convention: theta = atan2(-v, u) in degrees, i.e. measured counter-clockwise with y pointing up
(image v points down), in [-180, 180]. Bins: `equal` = 8 bins of 45 degrees over [-180, 180) (180 wraps to
-180); `histc` = the original MATLAB code's `weightedhistc(orient, mag, -180:45:179)`, whose last "bin" is the
single edge value 135, so orientations in (135, 180] are dropped (kept for strict comparison; see README).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BIN_EDGES = ("equal", "histc")


@dataclass(frozen=True)
class BiWoofParams:
    rows: int = 5
    cols: int = 5
    bins: int = 8
    bin_edges: str = "equal"

    def __post_init__(self) -> None:
        for name in ("rows", "cols", "bins"):
            n = getattr(self, name)
            if not isinstance(n, int) or n < 1:
                raise ValueError(f"{name} must be an int >= 1, got {n!r}")
        if self.bin_edges not in BIN_EDGES:
            raise ValueError(f"bin_edges must be one of {BIN_EDGES}, got {self.bin_edges!r}")

    @property
    def n_features(self) -> int:
        return self.rows * self.cols * self.bins


def orientation_degrees(flow: np.ndarray) -> np.ndarray:
    """Flow direction in degrees, counter-clockwise from +x with y up: atan2(-v, u), in [-180, 180]."""
    f = np.asarray(flow, dtype=np.float64)
    return np.degrees(np.arctan2(-f[..., 1], f[..., 0]))


def orientation_bins(theta: np.ndarray, bins: int = 8, edges: str = "equal") -> np.ndarray:
    """Bin index of each orientation (degrees), -1 where the orientation is not counted (`histc` quirk)."""
    width = 360.0 / bins
    if edges == "equal":
        return (np.floor((np.asarray(theta) + 180.0) / width).astype(np.int64)) % bins
    if edges == "histc":
        # MATLAB histc(x, e) with e = -180 : width : 180 - width: bin k holds e(k) <= x < e(k+1), and the last
        # bin holds only x == e(end). Anything above e(end) falls outside every bin.
        t = np.asarray(theta, dtype=np.float64)
        last = -180.0 + (bins - 1) * width
        idx = np.floor((t + 180.0) / width).astype(np.int64)
        idx = np.where(t < last, idx, np.where(t == last, bins - 1, -1))
        return np.where(t < -180.0, -1, idx)
    raise ValueError(f"bin_edges must be one of {BIN_EDGES}, got {edges!r}")


def block_edges(length: int, n: int) -> list[tuple[int, int]]:
    """[start, stop) of n nearly equal blocks partitioning `length` pixels."""
    if n > length:
        raise ValueError(f"cannot cut {length} pixels into {n} blocks")
    cuts = np.floor(np.arange(n + 1) * length / n).astype(int)
    return [(int(cuts[i]), int(cuts[i + 1])) for i in range(n)]


def local_histogram(theta_bins: np.ndarray, magnitude: np.ndarray, bins: int) -> np.ndarray:
    """Magnitude-weighted orientation histogram of one block, normalised to sum 1 (zeros if no motion)."""
    keep = theta_bins >= 0
    h = np.bincount(theta_bins[keep].ravel(), weights=magnitude[keep].ravel(), minlength=bins)
    total = h.sum()
    return h / total if total > 0 else h


def biwoof(flow: np.ndarray, strain: np.ndarray, params: BiWoofParams = BiWoofParams()) -> np.ndarray:
    """The Bi-WOOF vector (rows * cols * bins,) float32 of an (H, W, 2) flow and its (H, W) optical strain."""
    flow = np.asarray(flow, dtype=np.float64)
    strain = np.asarray(strain, dtype=np.float64)
    if flow.ndim != 3 or flow.shape[-1] != 2 or strain.shape != flow.shape[:2]:
        raise ValueError(f"need an (H, W, 2) flow and an (H, W) strain, got {flow.shape} and {strain.shape}")
    magnitude = np.hypot(flow[..., 0], flow[..., 1])
    theta_bins = orientation_bins(orientation_degrees(flow), params.bins, params.bin_edges)
    out = np.zeros((params.rows, params.cols, params.bins))
    for i, (y0, y1) in enumerate(block_edges(flow.shape[0], params.rows)):
        for j, (x0, x1) in enumerate(block_edges(flow.shape[1], params.cols)):
            local = local_histogram(theta_bins[y0:y1, x0:x1], magnitude[y0:y1, x0:x1], params.bins)
            out[i, j] = local * strain[y0:y1, x0:x1].sum()
    vec = out.ravel()
    norm = np.linalg.norm(vec)
    return (vec / norm if norm > 0 else vec).astype(np.float32)
