"""Draw a planned subject's clips frame by frame, write the frames in the release layout and the clip truth.

Per frame: the AU displacement A_t (a linear mix of the clip's unit fields) and the head transform H_t give the
forward map p -> H_t(p + A_t(p)) from the first frame. The renderer needs its inverse, so for each output pixel
y it solves p + A_t(p) = H_t^-1(y) by fixed-point iteration (converges because the fields are smooth: their
gradient is far below 1), samples the head layer there (bicubic), composites over the still background, then
adds flicker and sensor noise. The JPEG (or BMP) encoding is the release's.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.synth.plan import ClipPlan, SubjectPlan

MIN_ITERATIONS, MAX_ITERATIONS, TOLERANCE_PX = 2, 12, 0.01  # fixed-point inversion of the warp


@dataclass(frozen=True)
class RenderJob:
    """One unit of parallel work: a subject's clips, written under temporary roots."""

    plan: SubjectPlan
    size: int
    noise: float
    jpeg_quality: int
    texture: float
    release_root: str  # DATA_ROOT/<key> being written
    truth_root: str    # DATA_ROOT/_truth/<key> being written
    version: str


def source_map(a: np.ndarray | None, head: np.ndarray, xs: np.ndarray, ys: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """For each output pixel y, the first-frame point p with H(p + A(p)) = y (A: (H, W, 2) field or None).

    Fixed-point iteration p <- H^-1(y) - A(p); hand-written because OpenCV has no inverse of a dense warp.
    """
    import cv2

    m = cv2.invertAffineTransform(np.asarray(head, np.float64))
    qx = (m[0, 0] * xs + m[0, 1] * ys + m[0, 2]).astype(np.float32)
    qy = (m[1, 0] * xs + m[1, 1] * ys + m[1, 2]).astype(np.float32)
    px, py = qx, qy
    if a is not None:
        for i in range(MAX_ITERATIONS):
            s = cv2.remap(a, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            nx, ny = qx - s[..., 0], qy - s[..., 1]
            step = max(float(np.abs(nx - px).max()), float(np.abs(ny - py).max()))
            px, py = nx, ny
            if i >= MIN_ITERATIONS - 1 and step < TOLERANCE_PX:
                break
    return px, py


def _eye_coordinate(face, pose: np.ndarray, size: int) -> np.ndarray:
    """(S, S) vertical position inside the nearer eye: 0 at its top lid, 1 at its lower lid (for blinks)."""
    from harness.synth.face import face_unit, landmarks

    lm = landmarks(face, size)
    a, t = pose[:, :2], pose[:, 2]
    scale = float(np.sqrt(abs(np.linalg.det(a))))
    h = face.eye_h * face_unit(face, size) * scale
    centres = [a @ lm[f"eye_{s}"] + t for s in ("L", "R")]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    d = [np.abs(xs - c[0]) for c in centres]
    cy = np.where(d[0] <= d[1], centres[0][1], centres[1][1]).astype(np.float32)
    return (ys - (cy - 0.5 * h)) / h


def render_clip(clip: ClipPlan, face, big, job: RenderJob) -> int:
    """Render and write one clip; returns frames written."""
    import cv2

    from harness.datasets import get_adapter
    from harness.imageio import write_frame
    from harness.synth.aus import BLINK, evaluate, unit_components
    from harness.synth.face import face_box, face_unit, landmarks, place
    from harness.synth.truth import build_clip_truth, clip_path, dump_json

    size = job.size
    layers = place(big, size, clip.pose)
    lm = landmarks(face, size)
    unit = face_unit(face, size)
    comps = [unit_components(n, lm, unit, size, clip.pose) for n in clip.au_names]
    basis = (np.stack([evaluate(c, size, size) * np.float32(a) for c, a in zip(comps, clip.amplitude)])
             if comps else np.zeros((0, size, size, 2), np.float32))
    blink_col = clip.au_names.index(BLINK) if BLINK in clip.au_names else None
    eye_v = _eye_coordinate(face, clip.pose, size) if blink_col is not None else None

    adapter = get_adapter(clip.dataset)
    root = Path(job.release_root)
    record = clip.frame_record()
    cv2.setRNGSeed(int(clip.noise_seed % 2**31))  # OpenCV's RNG is per thread; ~5x faster than numpy here
    noise = np.empty((size, size * 3), np.float32)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    bg = layers.background
    for t in range(clip.n_frames):
        w = clip.intensity[t].astype(np.float32)
        active = np.flatnonzero(w)
        a = None
        if len(active):
            a = basis[active[0]] * w[active[0]]
            for k in active[1:]:
                a += basis[k] * w[k]
        px, py = source_map(a, clip.head[t], xs, ys)
        head = layers.head
        if blink_col is not None and w[blink_col] > 0:
            b = float(w[blink_col])
            cover = layers.eyes * np.clip((1.15 * b - eye_v) / 0.12, 0, 1) * min(1.0, b / 0.05)
            head = head * (1 - cover[..., None]) + layers.lid * cover[..., None]
        hd = cv2.remap(head, px, py, cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        al = cv2.remap(layers.alpha, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        img = (bg * (1 - al[..., None]) + hd) * np.float32(clip.gain[t])
        if job.noise > 0:
            cv2.randn(noise, 0.0, float(job.noise))
            img += noise.reshape(size, size, 3)
        frame = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        write_frame(adapter.frame_path(root, record, clip.first + t), frame, job.jpeg_quality)

    # truth: JSON + head mask of the first frame
    x0, y0, x1, y1 = face_box(face, size)
    corners = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]]) @ clip.pose.T
    box = (corners[:, 0].min(), corners[:, 1].min(), corners[:, 0].max(), corners[:, 1].max())
    doc = build_clip_truth(clip, size, comps, box, job.version)
    path = Path(job.truth_root) / clip_path(clip.subject, clip.clip)
    dump_json(path, doc)
    ok, png = cv2.imencode(".png", np.where(layers.alpha >= 0.5, 255, 0).astype(np.uint8))
    (path.parent / doc["mask"]).write_bytes(png.tobytes())
    return clip.n_frames


def render_subject(job: RenderJob) -> tuple[str, str, int]:
    """Worker entry point: draw the subject once, render each clip. Returns (dataset, subject, frames)."""
    from harness.synth.face import draw_layers

    big = draw_layers(job.plan.face, job.size, job.texture)
    n = sum(render_clip(c, job.plan.face, big, job) for c in job.plan.clips)
    return job.plan.dataset, job.plan.subject, n
