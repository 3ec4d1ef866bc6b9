"""Analytic inputs with known motion, for the tests and benchmarks of this package (and bundle authors' own).

- `textured_image` + `smooth_field` + `warp_forward`: an image pair whose true flow is known at every pixel.
- `face_image`: a real face (scikit-image's bundled `astronaut` photograph; scikit-image is a dev dependency).
- `make_clip`: a face clip written to disk as a `Sample`, with a micro-expression-like local deformation that
  peaks at a known apex plus known rigid head motion; `SyntheticClip` keeps the truth.
- `truth_in_aligned`: turns a true displacement in frame pixels into the flow the aligned face should show.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from harness.preprocess import align


def textured_image(size: int, seed: int = 0) -> np.ndarray:
    """(size, size) uint8 blurred noise at two scales: texture everywhere, so every pixel's flow is defined."""
    import cv2

    rng = np.random.default_rng(seed)
    fine = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), 1.5)
    coarse = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), 5.0)
    img = fine / fine.std() + 0.7 * coarse / coarse.std()
    img = (img - img.min()) / (img.max() - img.min())
    return (20 + 215 * img).astype(np.uint8)


def smooth_field(size: int, seed: int = 0, amplitude: float = 1.5, bumps: int = 6) -> np.ndarray:
    """(size, size, 2) float32 smooth displacement: Gaussian bumps of random direction, max |d| = amplitude."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    field = np.zeros((size, size, 2))
    for _ in range(bumps):
        cx, cy = rng.uniform(0.15, 0.85, 2) * size
        sigma = rng.uniform(0.08, 0.2) * size
        vec = rng.normal(size=2)
        g = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma ** 2))
        field += g[..., None] * vec
    field *= amplitude / np.linalg.norm(field, axis=-1).max()
    return field.astype(np.float32)


def sample_field(field: np.ndarray, points_x: np.ndarray, points_y: np.ndarray) -> np.ndarray:
    """Bilinear samples of an (H, W, C) field at float pixel positions (edges clamped)."""
    import cv2

    return cv2.remap(np.ascontiguousarray(field, dtype=np.float32), points_x.astype(np.float32),
                     points_y.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warp_forward(image: np.ndarray, displacement: np.ndarray, iterations: int = 10) -> np.ndarray:
    """The image whose pixel p of `image` has moved to p + displacement(p) (a forward warp).

    Output pixel q takes `image` at the p with p + d(p) = q, found by the fixed-point iteration p = q - d(p)
    (it converges for smooth fields with |grad d| < 1), then bilinear sampling.
    """
    import cv2

    h, w = displacement.shape[:2]
    qy, qx = np.mgrid[0:h, 0:w].astype(np.float32)
    px, py = qx.copy(), qy.copy()
    for _ in range(iterations):
        d = sample_field(displacement, px, py)
        px, py = qx - d[..., 0], qy - d[..., 1]
    return cv2.remap(image, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def rigid_field(matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W, 2) displacement p -> matrix(p) - p of a 2x3 affine."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    pts = np.stack([xx, yy], axis=-1)
    return (align.transform_points(matrix, pts.reshape(-1, 2)).reshape(h, w, 2) - pts).astype(np.float32)


def similarity_matrix(angle_deg: float = 0.0, scale: float = 1.0, tx: float = 0.0, ty: float = 0.0,
                      center: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """2x3 rotation by `angle_deg` and scaling about `center`, then translation by (tx, ty)."""
    a = np.deg2rad(angle_deg)
    c, s = scale * np.cos(a), scale * np.sin(a)
    cx, cy = center
    return np.array([[c, -s, cx - c * cx + s * cy + tx], [s, c, cy - s * cx - c * cy + ty]])


def face_image(size: int = 128) -> np.ndarray:
    """(size, size, 3) uint8 RGB real face: the astronaut photograph bundled with scikit-image, cropped."""
    import cv2
    from skimage import data

    img = data.astronaut()
    crop = img[22:222, 124:324]  # 200 px square around the face (centre ~ (224, 122) in the original)
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def write_sample(directory: Path | str, frames: Sequence[np.ndarray], sample_id: str = "clip", *, fps: float = 30.0,
                 onset: int | None = 1, apex: int | None = None, offset: int | None = None, first: int = 1,
                 dataset: str = "synthetic", subject: str = "s01"):
    """Write frames as lossless PNGs `img<N>.png` (N from `first`) and return the `Sample` that reads them."""
    from harness.api import Sample
    from harness.imageio import write_frame

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    names, digest = [], hashlib.sha256()
    for i, frame in enumerate(frames):
        name = f"img{first + i}.png"
        write_frame(directory / name, np.asarray(frame, dtype=np.uint8))
        digest.update((directory / name).read_bytes())
        names.append(name)
    indices = tuple(range(first, first + len(frames)))
    return Sample(sample_id=sample_id, dataset=dataset, subject=subject, fps=fps, onset=onset, apex=apex,
                  offset=indices[-1] if offset is None else offset, frame_indices=indices,
                  frames_dir=str(directory), frame_files=tuple(names), cache_key=digest.hexdigest())


def expression_field(landmarks: np.ndarray, shape: tuple[int, int], amplitude: float = 1.0) -> np.ndarray:
    """A micro-expression-like displacement: brows up (AU1+2) and mouth corners up and out (AU12).

    Gaussian bumps at the brow and mouth-corner landmarks, peak |d| = `amplitude` pixels; zero on the nose.
    """
    from harness.preprocess.regions import region_centers

    h, w = shape
    iod = np.linalg.norm(region_centers(landmarks, ["eye_left"])[0] - region_centers(landmarks, ["eye_right"])[0])
    sigma = 0.15 * iod
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    moves = {"brow_inner_right": (0.0, -1.0), "brow_inner_left": (0.0, -1.0), "brow_outer_right": (0.0, -0.8),
             "brow_outer_left": (0.0, -0.8), "mouth_corner_right": (-0.6, -0.8), "mouth_corner_left": (0.6, -0.8)}
    field = np.zeros((h, w, 2))
    for name, vec in moves.items():
        cx, cy = region_centers(landmarks, [name])[0]
        g = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma ** 2))
        field += g[..., None] * np.asarray(vec)
    field *= amplitude / np.linalg.norm(field, axis=-1).max()
    return field.astype(np.float32)


@dataclass
class SyntheticClip:
    """A clip on disk and its truth: per-frame forward displacement of the first frame's pixels."""

    sample: object                      # harness.api.Sample
    expression: list[np.ndarray]        # (H, W, 2) expression-only displacement per frame (frame pixels)
    heads: np.ndarray                   # (T, 2, 3) rigid head motion per frame (frame 0 -> frame t)
    apex_position: int

    def displacement(self, position: int) -> np.ndarray:
        """Total forward displacement of frame 0's pixels at a frame position: head(p + expression(p)) - p."""
        e = self.expression[position]
        h, w = e.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        moved = np.stack([xx, yy], axis=-1) + e
        out = align.transform_points(self.heads[position], moved.reshape(-1, 2)).reshape(h, w, 2)
        return (out - np.stack([xx, yy], axis=-1)).astype(np.float32)

    def head_displacement(self, position: int) -> np.ndarray:
        return rigid_field(self.heads[position], self.expression[position].shape[:2])


def make_clip(directory: Path | str, *, size: int = 128, n_frames: int = 9, apex_position: int = 4,
              amplitude: float = 1.5, head: Callable[[int], np.ndarray] | None = None, annotate_apex: bool = True,
              sample_id: str = "clip", fps: float = 30.0, base: np.ndarray | None = None) -> SyntheticClip:
    """A face clip whose expression rises linearly to `amplitude` px at `apex_position`, then falls back,
    moved by `head(position)` (2x3, frame 0 -> frame t; default no head motion)."""
    from harness.preprocess.landmarks import detect

    image = face_image(size) if base is None else base
    lm = detect(image)
    if lm is None:
        raise RuntimeError("the test face was not detected; is mediapipe 0.10.14 installed?")
    unit = expression_field(lm, image.shape[:2], 1.0)
    frames, fields, heads = [], [], []
    for t in range(n_frames):
        ramp = t / apex_position if t <= apex_position else max(0.0, (n_frames - 1 - t) / (n_frames - 1 - apex_position))
        e = unit * (amplitude * ramp)
        m = head(t) if head is not None else np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        fields.append(e)
        heads.append(m)
    clip = SyntheticClip(None, fields, np.array(heads), apex_position)
    for t in range(n_frames):
        frames.append(image if t == 0 else warp_forward(image, clip.displacement(t)))
    clip.sample = write_sample(directory, frames, sample_id, fps=fps, onset=1,
                               apex=1 + apex_position if annotate_apex else None, offset=n_frames)
    return clip


def truth_in_aligned(displacement: np.ndarray, matrix_ref: np.ndarray, matrix_t: np.ndarray, size: int) -> np.ndarray:
    """The flow an aligned face should show: (size, size, 2) for a frame-pixel forward displacement of frame 0.

    Aligned pixel q of the reference face is frame pixel p = matrix_ref^-1(q); it moves to p + d(p) in frame t,
    which the frame-t warp `matrix_t` puts at matrix_t(p + d(p)). The truth is that minus q.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    q = np.stack([xx, yy], axis=-1).reshape(-1, 2)
    p = align.transform_points(align.invert(matrix_ref), q)
    d = sample_field(displacement, p[:, 0].reshape(size, size), p[:, 1].reshape(size, size)).reshape(-1, 2)
    moved = align.transform_points(matrix_t, p + d)
    return (moved - q).reshape(size, size, 2).astype(np.float32)
