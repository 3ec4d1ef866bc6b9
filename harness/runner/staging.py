"""Stage each sample's frames into a run-private folder before any bundle code runs.

Why: a path into the data root leads, one `..` at a time, to the annotation files and thus to the test labels.
A staged folder holds one sample's frames and nothing else, under a temporary root that is not an ancestor of
the data. Files are hard links where the filesystem allows (no copy, no extra disk), else copies.

The staged sample also gets `cache_key`, a content hash of its frames, so that the preprocessing cache keys on
what the frames are, not on where they happen to be staged.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.datasets.frames import list_frames


@dataclass(frozen=True)
class StagedFrames:
    frames_dir: str
    frame_files: tuple[str, ...]
    frame_indices: tuple[int, ...]
    cache_key: str


def staging_root() -> Path:
    env = os.environ.get("HARNESS_STAGING_DIR")
    root = Path(env) if env else Path(tempfile.gettempdir()) / f"harness-staging-{os.getuid() if hasattr(os, 'getuid') else 0}"
    root.mkdir(parents=True, exist_ok=True)
    return root


def new_run_dir(tag: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"run-{tag}-", dir=staging_root()))


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def stage_table(table, run_dir: Path) -> dict[str, StagedFrames]:
    """Stage every row of a task table (onset..offset frames); returns uid -> StagedFrames."""
    out: dict[str, StagedFrames] = {}
    frames_root = run_dir / "frames"
    frames_root.mkdir(parents=True, exist_ok=True)
    for n, row in enumerate(table.sort_values("uid").itertuples(index=False)):
        listing = list_frames(row.clip_dir)
        indices = [i for i in range(int(row.onset), int(row.offset) + 1) if i in listing]
        dest = frames_root / f"{n:06d}"
        dest.mkdir(exist_ok=True)
        h = hashlib.blake2b(digest_size=16)
        names = []
        for i in indices:
            src = listing[i]
            name = f"{i}{src.suffix.lower()}"
            target = dest / name
            if not target.exists():
                _link_or_copy(src, target)
            data = src.read_bytes()
            h.update(f"{i}:{len(data)}:".encode())
            h.update(data)
            names.append(name)
        out[row.uid] = StagedFrames(str(dest), tuple(names), tuple(indices), h.hexdigest())
    return out
