"""Frame files of a release: listing a clip folder by frame index, and checking that a frame is a whole image
(reading and writing frames: harness.imageio).

Every official release names frames with the frame number as the last group of digits in the file name
(CASME II `img46.jpg`, SAMM `006_05562.jpg`, SMIC `image106154.bmp`, CAS(ME)^3 `355.jpg`), so one parser
serves all of them.
"""
from __future__ import annotations

import errno
import os
import re
from functools import lru_cache
from pathlib import Path

from harness.errors import BadInput

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_LAST_INT = re.compile(r"(\d+)(?!.*\d)")


class FrameFileError(BadInput):
    """A frame file in the data root that cannot be used (a symbolic link loop); the message names the file."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(f"{path}: {message}")


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
            i = frame_index(e.name)
            if i is None:
                continue
            try:
                is_file = e.is_file()  # follows a linked frame file
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise FrameFileError(e.path, "symbolic link loop: this frame file is a link that cannot be "
                                                 "resolved (it points back to itself through other links)") from None
                raise
            if is_file:
                out.append((i, e.name))
    out.sort()
    return tuple(out)


def list_frames(clip_dir: Path | str) -> dict[int, Path]:
    """Frame index -> file, for one clip folder (cached until the folder changes). Raises FrameFileError, naming
    the file, for a linked frame file that loops."""
    d = str(clip_dir)
    try:
        st = os.stat(d)
    except FileNotFoundError:
        return {}
    return {i: Path(d, n) for i, n in _listing(d, st.st_mtime_ns)}


_SIGNATURES = {".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff", ".png": b"\x89PNG\r\n\x1a\n", ".bmp": b"BM"}
_TAIL = 1024  # JPEG writers may pad after the end-of-image marker; look for it in the last kilobyte


def image_defect(path: Path | str) -> str | None:
    """Why `path` is not a readable image of the kind its suffix names, or None when it looks whole.

    A cheap check (two small reads, no decoding): the format's signature at the start and its end marker at the
    end (JPEG end-of-image, PNG IEND, BMP's declared file size), which catches a file that is not an image and a
    truncated one. `harness data check` runs it on every sample's key frames (onset, apex, offset); a full decode
    of every frame would cost minutes on a real release.
    """
    p = Path(path)
    want = _SIGNATURES.get(p.suffix.lower())
    try:
        size = p.stat().st_size
        with open(p, "rb") as f:
            head = f.read(16)
            f.seek(max(0, size - _TAIL))
            tail = f.read()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if size == 0:
        return "is empty"
    if want is None:
        return None
    if not head.startswith(want):
        return f"is not a {p.suffix.lower().lstrip('.').upper()} image (its first bytes are {head[:8]!r})"
    suffix = p.suffix.lower()
    if suffix in (".jpg", ".jpeg") and b"\xff\xd9" not in tail:
        return "is a truncated JPEG (no end-of-image marker)"
    if suffix == ".png" and b"IEND" not in tail[-16:]:
        return "is a truncated PNG (no IEND chunk)"
    if suffix == ".bmp" and len(head) >= 6 and int.from_bytes(head[2:6], "little") > size:
        return f"is a truncated BMP ({size} bytes, its header says {int.from_bytes(head[2:6], 'little')})"
    return None
