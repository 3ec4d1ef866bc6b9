"""Facial landmarks with MediaPipe face mesh (legacy `solutions` API of mediapipe 0.10.14, fully offline).

One `FaceMesh` per process, created on first use and reused (creating it costs ~20 ms and a model load; a
detection then costs ~5-15 ms). Static-image mode, because we detect one frame per clip (the onset), not a
video stream. 478 points with `refine_landmarks=True` (468 mesh points plus 2 x 5 iris points).
"""
from __future__ import annotations

import contextlib
import os
import threading
import warnings
from typing import Any

import numpy as np

#: Everything that decides the detector's output; part of the cache key of landmark results.
SETTINGS: dict[str, Any] = {
    "model": "mediapipe.face_mesh",
    "static_image_mode": True,
    "max_num_faces": 1,
    "refine_landmarks": True,
    "min_detection_confidence": 0.5,
}

_lock = threading.Lock()
_mesh: Any = None
_warmed = False


@contextlib.contextmanager
def _native_stderr_silenced():
    """Mute file descriptor 2 while MediaPipe builds its graph and runs it once.

    Its C++ side (absl, TF Lite) prints INFO/WARNING lines there before any logging flag is read, once per process,
    i.e. once per fold; Python's warnings filters cannot reach them. Errors still surface as Python exceptions.
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _face_mesh() -> Any:
    global _mesh
    if _mesh is None:
        os.environ.setdefault("GLOG_minloglevel", "2")       # mediapipe's C++ info lines
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with warnings.catch_warnings(), _native_stderr_silenced():
            warnings.simplefilter("ignore")
            import mediapipe as mp

            _mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=SETTINGS["static_image_mode"], max_num_faces=SETTINGS["max_num_faces"],
                refine_landmarks=SETTINGS["refine_landmarks"],
                min_detection_confidence=SETTINGS["min_detection_confidence"])
    return _mesh


def detect(image: np.ndarray) -> np.ndarray | None:
    """(478, 2) float32 landmark x, y in the image's pixels, or None when no face is found.

    `image` is uint8 RGB (H, W, 3) or gray (H, W). Coordinates use pixel centres at integers.
    """
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        from harness.errors import BadInput

        raise BadInput(f"landmark detection needs a uint8 RGB or gray image, got {img.dtype} {img.shape}")
    h, w = img.shape[:2]
    global _warmed
    with _lock:  # the graph is not re-entrant
        mesh = _face_mesh()
        quiet = contextlib.nullcontext() if _warmed else _native_stderr_silenced()
        with warnings.catch_warnings(), quiet:
            warnings.simplefilter("ignore")
            result = mesh.process(np.ascontiguousarray(img))
        _warmed = True
    if not result.multi_face_landmarks:
        return None
    pts = result.multi_face_landmarks[0].landmark
    # MediaPipe normalises x by width and y by height, with 0 and 1 at the image edges.
    out = np.array([[p.x * w - 0.5, p.y * h - 0.5] for p in pts], dtype=np.float32)
    return out


def version() -> str:
    """The installed mediapipe version (read from metadata: importing mediapipe is slow)."""
    from importlib.metadata import PackageNotFoundError, version as _version

    try:
        return _version("mediapipe")
    except PackageNotFoundError:
        return "absent"
