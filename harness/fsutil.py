"""Files written whole or not at all, secrets kept beside the data, content hashes.

Every writer of the harness goes through `atomic_write_bytes`: a temporary file beside the target, renamed over
it, so that a reader (or a crash) never sees a half-written board, store export, cache entry or workbook.
`durable=True` (the default) also fsyncs before the rename: an OS crash then keeps the old or the new file. The
preprocessing cache passes `durable=False`: an fsync costs ~10 ms, several per sample, and a damaged cache entry
is detected and recomputed anyway.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path | str, data: bytes, *, durable: bool = True) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path | str, text: str, *, durable: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def secret_bytes(path: Path | str, size: int = 32) -> bytes:
    """A secret kept in `path` (random, created on first use, readable by its owner only).

    Made whole before it appears: written to a private temporary file, then hard-linked to `path`, which fails
    if another process linked its own first (then theirs is read). Creating `path` and writing into it would let
    a process that starts at the same moment (two fold supervisors on an empty cache) read it empty.
    """
    import secrets

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
        try:
            data = secrets.token_bytes(size)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:  # another process made it first: use theirs
                data = path.read_bytes()
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    if len(data) != size:
        raise ValueError(f"{path} is not a {size}-byte secret; delete it (it is re-created)")
    return data


def file_sha256(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_hash(root: Path, suffixes: tuple[str, ...] | None = None) -> str:
    """Hash of every file under `root` (relative path + bytes), ignoring caches; order-independent of the walk."""
    h = hashlib.sha256()
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in {"__pycache__", ".ipynb_checkpoints"}
                             and not d.startswith("."))
        for f in filenames:
            if f.endswith((".pyc", ".pyo")) or f.startswith("."):
                continue
            if suffixes is None or f.endswith(suffixes):
                files.append(Path(dirpath, f))
    for p in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()
