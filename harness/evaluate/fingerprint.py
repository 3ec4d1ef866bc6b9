"""A fingerprint of the data a protocol used: annotation files, the errata applied to them, and the frame listing
of every sample.

Paths are taken relative to the data root, so the same corpus at another location has the same fingerprint. The
errata are named (name@version per dataset): the same files read with other errata are other data.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from harness.datasets.frames import list_frames


def data_fingerprint(task) -> str:
    root = Path(task.data_root)
    h = hashlib.sha256()
    for dataset, errata in sorted(task.errata_versions().items()):
        h.update(f"errata {dataset}: {errata}\0".encode())
    for f in sorted(task.annotation_files, key=lambda p: str(p)):
        h.update(_rel(Path(f), root).encode() + b"\0")
        h.update(Path(f).read_bytes())
    t = task.table.sort_values("uid")
    for row in t.itertuples(index=False):
        h.update(f"{row.uid}\0{row.label}\0{row.onset}\0{row.apex}\0{row.offset}\0".encode())
        if row.clip_dir:
            frames = list_frames(row.clip_dir)
            h.update(_rel(Path(row.clip_dir), root).encode() + b"\0")
            for i in range(int(row.onset), int(row.offset) + 1):
                p = frames.get(i)
                if p is not None:
                    h.update(f"{p.name}:{p.stat().st_size}\0".encode())
    return h.hexdigest()


def _rel(p: Path, root: Path) -> str:
    try:
        return p.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return p.name


def data_kind(data_root: Path) -> str:
    """'synthetic' for a corpus written by `harness data synth` (it leaves a manifest), else 'real'."""
    return "synthetic" if (Path(data_root) / "_truth" / "corpus.json").exists() else "real"
