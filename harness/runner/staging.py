"""Stage each sample's frames, before any bundle code runs, into a folder that holds them and nothing else.

Why: a path into the data root leads, one `..` at a time, to the annotation files and thus to the test labels.
A staged folder holds one sample's frames, under the frame store (`<cache>/frames`), not an ancestor of the
data, and is named by the sample's opaque id (opaque.py). The frames are copies, made in the order of the
opaque ids: a hard link would share the original file's inode number and timestamps, which follow the order the
release was unpacked in (SMIC's tree, class by class), and a symbolic link would name the data root. Copies are
kept and reused while the source frames are unchanged (their content key is stored beside them), so a dataset
is copied once per harness home, not once per run.

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
    sample_id: str                   # the opaque id the fold sees
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


def frame_store() -> Path:
    from harness.paths import cache_dir

    root = Path(cache_dir()) / "frames"
    root.mkdir(parents=True, exist_ok=True)
    return root


CONTENT = ".content"


def _content_key(listing: dict, indices: list[int]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for i in indices:
        data = listing[i].read_bytes()
        h.update(f"{i}:{len(data)}:".encode())
        h.update(data)
    return h.hexdigest()


def _current(dest: Path, key: str, names: list[str]) -> bool:
    try:
        return (dest / CONTENT).read_text() == key and all((dest / n).is_file() for n in names)
    except OSError:
        return False


def _copy_in(dest: Path, listing: dict, indices: list[int], names: list[str], key: str) -> None:
    """Write the copies beside `dest` and rename them into place (a reader sees all frames or none)."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        for i, name in zip(indices, names):
            shutil.copyfile(listing[i], tmp / name)
        (tmp / CONTENT).write_text(key)
        for _attempt in range(3):
            try:
                os.rename(tmp, dest)
                return
            except OSError:
                if _current(dest, key, names):
                    return  # another run staged the same sample meanwhile
                shutil.rmtree(dest, ignore_errors=True)  # stale copies of frames that have changed
        raise OSError(f"could not stage frames into {dest}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def stage_table(table, ids: dict[str, str], store: Path | None = None) -> dict[str, StagedFrames]:
    """Stage every row of a task table (onset..offset frames) under its opaque id; returns uid -> StagedFrames."""
    store = frame_store() if store is None else Path(store)
    store.mkdir(parents=True, exist_ok=True)
    out: dict[str, StagedFrames] = {}
    rows = sorted(table.itertuples(index=False), key=lambda r: ids[r.uid])
    for row in rows:
        listing = list_frames(row.clip_dir)
        indices = [i for i in range(int(row.onset), int(row.offset) + 1) if i in listing]
        names = [f"{i}{listing[i].suffix.lower()}" for i in indices]
        key = _content_key(listing, indices)
        dest = store / ids[row.uid]
        if not _current(dest, key, names):
            _copy_in(dest, listing, indices, names, key)
        out[row.uid] = StagedFrames(ids[row.uid], str(dest), tuple(names), tuple(indices), key)
    return out
