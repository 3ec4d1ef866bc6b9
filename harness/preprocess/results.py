"""Typed results of the preprocessing operations, and their (de)serialisation for the cache.

All arrays are NumPy; all frame references are annotation frame numbers (as in `Sample.frame_indices`), never
positions. Landmarks carried by a result are in that result's own pixel frame, so region helpers
(`harness.preprocess.regions`) can be applied to its maps directly.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import numpy as np


def scale_points(points: np.ndarray, from_size: int, to_size: int) -> np.ndarray:
    """Pixel coordinates in a `from_size` square map -> the same places in a `to_size` square map."""
    f = to_size / from_size
    return ((np.asarray(points, dtype=np.float64) + 0.5) * f - 0.5).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Face:
    """Where a clip's face is: one similarity transform for the whole clip, placed from the reference frame."""

    sample_id: str
    reference_frame: int           # frame number whose landmarks placed the crop (the onset, or a later try)
    size: int                      # side of the aligned face, pixels
    matrix: np.ndarray             # (2, 3) float64: frame pixels -> aligned-face pixels
    landmarks: np.ndarray          # (478, 2) float32 x, y in aligned-face pixels
    image_landmarks: np.ndarray    # (478, 2) float32 x, y in frame pixels

    def landmarks_at(self, size: int) -> np.ndarray:
        """The landmarks in a `size` x `size` map of the aligned face (e.g. a 28 px flow map)."""
        return scale_points(self.landmarks, self.size, size)


@dataclass(frozen=True, eq=False)
class FaceTrack:
    """The per-frame warps of a clip: `face.matrix`, each corrected for that frame's rigid head motion."""

    face: Face
    frame_indices: tuple[int, ...]
    matrices: np.ndarray           # (T, 2, 3) float64: frame pixels -> aligned pixels, one per frame
    drift: str                     # the FaceConfig.drift that produced them

    def matrix(self, frame: int) -> np.ndarray:
        return self.matrices[self.frame_indices.index(frame)]


@dataclass(frozen=True, eq=False)
class OnsetApexFlow:
    """Onset -> apex motion on the aligned face: the input of Bi-WOOF, FeatRef and HTNet-style systems."""

    flow: np.ndarray               # (H, W, 2) float32: u (x), v (y) in pixels of this map
    strain: np.ndarray             # (H, W) float32 optical strain magnitude
    onset: int                     # frame numbers used
    apex: int
    apex_spotted: bool             # True when the apex came from `spot_apex` (none annotated or hidden)
    landmarks: np.ndarray          # (478, 2) float32 in this map's pixels (for region crops)

    @property
    def u(self) -> np.ndarray:
        return self.flow[..., 0]

    @property
    def v(self) -> np.ndarray:
        return self.flow[..., 1]

    def uvs(self) -> np.ndarray:
        """(H, W, 3) float32: u, v, strain stacked (STSTNet/HTNet channel order)."""
        return np.dstack([self.flow, self.strain]).astype(np.float32)


@dataclass(frozen=True, eq=False)
class FlowSequence:
    """A series of flows on the aligned face, one per frame pair of the mode."""

    flow: np.ndarray               # (N, H, W, 2) float32
    pairs: tuple[tuple[int, int], ...]  # (from, to) frame numbers of each flow
    mode: str
    landmarks: np.ndarray          # (478, 2) float32 in this map's pixels

    def strain(self) -> np.ndarray:
        from harness.preprocess.strain import strain

        return strain(self.flow)


@dataclass(frozen=True, eq=False)
class RegionMotion:
    """Per-frame motion of named facial regions relative to the onset frame, minus the nose's motion."""

    values: np.ndarray             # (T, R, 2) float32: robust mean (u, v) of each region, pixels of the flow map
    names: tuple[str, ...]         # the R region names (see harness.preprocess.regions)
    frame_indices: tuple[int, ...] # source frames (before any temporal resampling)
    times: np.ndarray              # (T,) float64 seconds since the onset frame of each row of `values`


def pack(obj: Any, prefix: str = "") -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A result dataclass -> (arrays, JSON-ready meta); nested results are flattened with dotted names."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        name = prefix + f.name
        if isinstance(value, np.ndarray):
            arrays[name] = value
        elif is_dataclass(value):
            a, m = pack(value, name + ".")
            arrays.update(a)
            meta.update(m)
        else:
            meta[name] = value
    return arrays, meta


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def unpack(cls: type, arrays: dict[str, np.ndarray], meta: dict[str, Any], prefix: str = "") -> Any:
    """Inverse of `pack` (JSON lists come back as the tuples they were)."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in fields(cls):
        name = prefix + f.name
        hint = hints[f.name]
        if is_dataclass(hint):
            kwargs[f.name] = unpack(hint, arrays, meta, name + ".")
        elif name in arrays:
            kwargs[f.name] = arrays[name]
        else:
            kwargs[f.name] = _tuples(meta[name])
    return cls(**kwargs)
