"""Frame images on disk: read as uint8 arrays, written in the format their suffix names.

At the bottom of the engine because the bundle contract reads frames (`Sample.frames()`) and the dataset
writers, the synthetic corpus and the preprocessing all read or write them the same way.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence


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
