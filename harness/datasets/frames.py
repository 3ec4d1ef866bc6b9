"""Frame files on disk: listing a clip folder by frame index, and reading frames.

Every official release names frames with the frame number as the last group of digits in the file name
(CASME II `img46.jpg`, SAMM `006_05562.jpg`, SMIC `image106154.bmp`, CAS(ME)^3 `355.jpg`), so one parser
serves all of them.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Sequence

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_LAST_INT = re.compile(r"(\d+)(?!.*\d)")


def frame_index(name: str) -> int | None:
    stem, ext = os.path.splitext(name)
    if ext.lower() not in IMAGE_SUFFIXES:
        return None
    m = _LAST_INT.search(stem)
    return int(m.group(1)) if m else None


@lru_cache(maxsize=4096)
def _listing(clip_dir: str, mtime_ns: int) -> tuple[tuple[int, str], ...]:
    out = []
    with os.scandir(clip_dir) as it:
        for e in it:
            if e.is_file():
                i = frame_index(e.name)
                if i is not None:
                    out.append((i, e.name))
    out.sort()
    return tuple(out)


def list_frames(clip_dir: Path | str) -> dict[int, Path]:
    """Frame index -> file, for one clip folder (cached until the folder changes)."""
    d = str(clip_dir)
    try:
        st = os.stat(d)
    except FileNotFoundError:
        return {}
    return {i: Path(d, n) for i, n in _listing(d, st.st_mtime_ns)}


def read_frames(paths: Sequence[Path | str], gray: bool = False):
    """Read frames as one uint8 array: (T, H, W, 3) RGB, or (T, H, W) when gray."""
    import cv2
    import numpy as np

    flag = cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR
    out = []
    for p in paths:
        img = cv2.imread(str(p), flag)
        if img is None:
            raise OSError(f"cannot read frame {p}")
        out.append(img if gray else cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    return np.stack(out) if out else np.zeros((0, 0, 0) if gray else (0, 0, 0, 3), np.uint8)


def write_frame(path: Path, image, jpeg_quality: int = 90) -> None:
    """Write one RGB (or gray) uint8 frame in the format its suffix names."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    img = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(path.suffix, img, params)
    if not ok:
        raise OSError(f"cannot encode frame {path}")
    path.write_bytes(buf.tobytes())
