"""Region motion features: robust mean flow per facial region, minus the global (nose) motion.

After He et al.'s ROI pipeline (shared/reference/methods.md §7): a region's motion is the mean of the top-p
fraction of its flow vectors by magnitude (the moving part of the region, not its still surroundings), and the
nose bridge's robust mean (p = 0.7) is subtracted as residual rigid head motion.
"""
from __future__ import annotations

import numpy as np

from harness.errors import BadInput


def robust_mean(vectors: np.ndarray, top_p: float) -> np.ndarray:
    """Mean of the top-`top_p` fraction of (..., N, 2) vectors by magnitude -> (..., 2)."""
    v = np.asarray(vectors, dtype=np.float32)
    if v.shape[-2] == 0:
        raise BadInput("robust mean of an empty region: the region mask holds no pixel")
    if not 0.0 < top_p <= 1.0:
        raise BadInput(f"top_p must be in (0, 1], got {top_p!r}")
    n = v.shape[-2]
    k = max(1, int(np.ceil(top_p * n)))
    if k == n:
        return v.mean(axis=-2)
    mag = np.einsum("...i,...i->...", v, v)
    # the k largest magnitudes (their order does not matter for the mean)
    idx = np.argpartition(-mag, k - 1, axis=-1)[..., :k]
    top = np.take_along_axis(v, idx[..., None], axis=-2)
    return top.mean(axis=-2)


def region_features(flows: np.ndarray, masks: np.ndarray, global_mask: np.ndarray | None,
                    top_p: float = 0.3, global_p: float = 0.7) -> np.ndarray:
    """(T, R, 2) region motion of (T, H, W, 2) flows for (R, H, W) masks, minus the `global_mask` motion."""
    f = np.asarray(flows, dtype=np.float32)
    if f.ndim == 3:
        f = f[None]
    m = np.asarray(masks, dtype=bool)
    if f.ndim != 4 or f.shape[-1] != 2 or m.ndim != 3 or m.shape[1:] != f.shape[1:3]:
        raise BadInput(f"flows (T, H, W, 2) and masks (R, H, W) must agree, got {f.shape} and {m.shape}")
    out = np.stack([robust_mean(f[:, mask], top_p) for mask in m], axis=1)
    if global_mask is not None:
        out = out - robust_mean(f[:, np.asarray(global_mask, dtype=bool)], global_p)[:, None, :]
    return out.astype(np.float32)
