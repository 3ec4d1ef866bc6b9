"""Face alignment: one similarity transform per clip (from the onset frame's landmarks to a canonical
template), optional per-frame drift correction on the nose bridge, and anti-aliased warping.

Why one transform per clip: re-fitting landmarks on every frame would absorb the very facial motion the
methods measure (a raised brow moves brow landmarks). The onset frame is neutral, so its landmarks place the
crop; later frames reuse it, and only rigid head motion, measured by flow on a region that micro-expressions do
not move (the nose bridge), is taken out (He et al., Front. Comput. Sci. 2025 and PRL 2022; methods.md §7).

Matrices are OpenCV 2x3 affines mapping source pixel coordinates (x right, y down, pixel centres at integers)
to destination coordinates. The least-squares similarity fit is written here (a 4-unknown linear system)
because it is one `lstsq` call; OpenCV's `estimateAffinePartial2D` only offers RANSAC/LMEDS.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from harness.preprocess.regions import ALIGN_POINTS, region_centers

# Canonical frontal template in inter-ocular units: origin at the midpoint of the eye centres, x to the image
# right, y down. Proportions are typical adult ones (eye centres 1 apart, nose tip ~0.65 below, mouth corners
# ~0.85 apart and ~1 below); with MediaPipe's mesh they place brows at about -0.35 and the chin at about 1.7.
TEMPLATE: Mapping[str, tuple[float, float]] = {
    "eye_right": (-0.5, 0.0),
    "eye_left": (0.5, 0.0),
    "nose_tip": (0.0, 0.65),
    "mouth_right": (-0.42, 0.98),
    "mouth_left": (0.42, 0.98),
}
# The crop before margin: a square from just above the brows to just below the chin, cheek to cheek.
BOX_CENTER = (0.0, 0.7)
BOX_HALF = 1.05


def template_points(size: int, margin: float) -> np.ndarray:
    """(5, 2) template positions, in the pixels of a `size` x `size` aligned face, of `ALIGN_POINTS`."""
    scale = size / (2.0 * BOX_HALF * (1.0 + margin))
    pts = np.array([TEMPLATE[n] for n in ALIGN_POINTS], dtype=np.float64) - np.array(BOX_CENTER)
    return pts * scale + (size - 1) / 2.0


def fit_similarity(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) taking `src` (N, 2) onto `dst` (N, 2)."""
    s = np.asarray(src, dtype=np.float64)
    d = np.asarray(dst, dtype=np.float64)
    n = s.shape[0]
    a = np.zeros((2 * n, 4))
    a[0::2] = np.stack([s[:, 0], -s[:, 1], np.ones(n), np.zeros(n)], axis=1)
    a[1::2] = np.stack([s[:, 1], s[:, 0], np.zeros(n), np.ones(n)], axis=1)
    b = d.reshape(-1)
    if weights is not None:
        w = np.sqrt(np.repeat(np.asarray(weights, dtype=np.float64), 2))
        a, b = a * w[:, None], b * w
    (p, q, tx, ty), *_ = np.linalg.lstsq(a, b, rcond=None)
    return np.array([[p, -q, tx], [q, p, ty]])


def as3(m: np.ndarray) -> np.ndarray:
    return np.vstack([np.asarray(m, dtype=np.float64), [0.0, 0.0, 1.0]])


def compose(*ms: np.ndarray) -> np.ndarray:
    """compose(A, B) applies B first, then A (like matrix products)."""
    out = np.eye(3)
    for m in ms:
        out = out @ as3(m)
    return out[:2]


def invert(m: np.ndarray) -> np.ndarray:
    return np.linalg.inv(as3(m))[:2]


def transform_points(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.asarray(pts, dtype=np.float64)
    return p @ np.asarray(m, dtype=np.float64)[:, :2].T + np.asarray(m, dtype=np.float64)[:, 2]


def resize_matrix(from_size: int, to_size: int) -> np.ndarray:
    """2x3 map from the pixels of a `from_size` square to the same places in a `to_size` square."""
    f = to_size / from_size
    return np.array([[f, 0.0, 0.5 * f - 0.5], [0.0, f, 0.5 * f - 0.5]])


def matrix_scale(m: np.ndarray) -> float:
    return float(np.sqrt(abs(np.linalg.det(np.asarray(m, dtype=np.float64)[:, :2]))))


def alignment_matrix(image_landmarks: np.ndarray, size: int, margin: float) -> np.ndarray:
    """The 2x3 similarity from frame pixels to the aligned face, fitted on the five template points."""
    src = region_centers(image_landmarks, ALIGN_POINTS)
    return fit_similarity(src, template_points(size, margin))


class Warper:
    """Warps one frame many times (drift iterations) into the aligned face, without aliasing.

    When the crop shrinks the frame (a 640 px CASME II frame to a 128 px face), the frame is first area-resized
    so the remaining warp scale is about 1; bilinear warping alone would alias fine texture into false flow.
    """

    def __init__(self, image: np.ndarray, matrix: np.ndarray):
        import cv2

        scale = matrix_scale(matrix)
        h, w = image.shape[:2]
        if scale < 0.8:
            nw, nh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
            self.image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
            fx, fy = nw / w, nh / h
            # resized pixel x' = (x + 0.5) * f - 0.5, so frame -> resized is this affine:
            self.to_small = np.array([[fx, 0.0, 0.5 * fx - 0.5], [0.0, fy, 0.5 * fy - 0.5]])
        else:
            self.image = image
            self.to_small = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        self.from_small = invert(self.to_small)

    def warp(self, matrix: np.ndarray, size: int) -> np.ndarray:
        import cv2

        m = compose(matrix, self.from_small)
        return cv2.warpAffine(self.image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def stable_window(mask: np.ndarray, pad: int) -> tuple[slice, slice]:
    """Bounding box of a mask grown by `pad` pixels: flow for drift runs only there (cheaper, same answer)."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    return (slice(max(ys.min() - pad, 0), min(ys.max() + pad + 1, h)),
            slice(max(xs.min() - pad, 0), min(xs.max() + pad + 1, w)))


def measure_rigid(reference: np.ndarray, image: np.ndarray, mask: np.ndarray, mode: str,
                  window: tuple[slice, slice], flow_backend: str, flow_params: Mapping) -> np.ndarray:
    """The rigid motion (2x3, reference -> image coordinates) seen by flow on the masked stable region.

    translation: per-component median of the flow vectors (robust to a few vectors an AU drags along).
    similarity: least-squares fit of point -> point + flow, refitted once on the 80 % best-fitting vectors.
    """
    from harness.preprocess.flow import compute_flow

    ys, xs = window
    flow = compute_flow(reference[ys, xs], image[ys, xs], flow_backend, flow_params)
    sub = mask[ys, xs]
    vec = flow[sub].astype(np.float64)
    if mode == "translation":
        t = np.median(vec, axis=0)
        return np.array([[1.0, 0.0, t[0]], [0.0, 1.0, t[1]]])
    yy, xx = np.nonzero(sub)
    src = np.stack([xx + xs.start, yy + ys.start], axis=1).astype(np.float64)
    dst = src + vec
    m = fit_similarity(src, dst)
    resid = np.linalg.norm(transform_points(m, src) - dst, axis=1)
    keep = resid <= np.quantile(resid, 0.8)
    return fit_similarity(src[keep], dst[keep])


def is_identity(m: np.ndarray, size: int, tol: float = 0.02) -> bool:
    """True when `m` moves no point of a `size` square by more than `tol` pixels."""
    corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], dtype=np.float64)
    return bool(np.abs(transform_points(m, corners) - corners).max() < tol)
