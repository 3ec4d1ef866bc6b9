"""Content-addressed on-disk cache of preprocessing results.

Key = sha256 of a canonical JSON of: the operation (kind), the frames' content identity (`Sample.cache_key`)
and the frame numbers it used, every parameter that changes the result, `CODE_VERSION`, and the versions of
the libraries that compute it (OpenCV, MediaPipe, NumPy). Bump `CODE_VERSION` whenever an algorithm here
changes its output.

Layout: `<root>/<kind>/<key[:2]>/<key>.npz` and `<root>/.locks/<key>.lock`. An entry is one file: a short
JSON header (the metadata, which repeats the key, and each array's name, dtype and shape) followed by the
arrays' raw bytes (`encode_entry`). Reading it is a JSON parse and a copy, about 15x cheaper than the zip
archive of `np.savez` that entries were before (~250 us an entry; most hits are small entries: a feature
vector, a flow, a face); entries written as zip archives are still read (`decode_entry` knows both), and the
file name keeps its `.npz` suffix so that old and new entries share their places. Entries that a bundle's own code computed (e.g. its feature vectors) live in that
bundle's namespace, `<root>/bundles/<namespace>/<kind>/...`, and are read only by folds of the same bundle.
Entries computed for a fold after it read its labels live in a scope named after exactly what it knew,
`.../scoped/<knowledge>/<kind>/...` (see harness/runner/broker.py), read only by folds that knew the same.

Trust: every entry carries a MAC (keyed BLAKE2b over the kind, the key, the arrays and the metadata) under a key
kept in `<root>/.mac-key`, which only trusted code reads: the harness and each fold's supervisor. Folds never
open the cache folder (their sandbox does not grant it); they read and ask through their supervisor (see
harness/runner/broker.py). An entry whose MAC does not verify (written by anything else, edited, copied from
another cache) is counted in `rejected`, never returned, and recomputed.

Safety with parallel workers and killed runs:
- every entry is written to a temporary file beside it and renamed over it (`harness.fsutil.atomic_write_bytes`, without fsync), so a reader
  sees the whole entry or none; a killed run leaves at most a `.*.tmp` file, which is never read and which
  `harness cache clear` removes;
- an entry that cannot be read back completely (disk trouble, manual edits) is deleted and recomputed;
- one worker computes a given key at a time (an advisory `flock` on the key's lock file, released by the OS
  when a process dies); the others wait and then read it. `nonblocking()` turns the wait into `CacheBusy`,
  which `Preprocessor.map` uses to let concurrent folds share the work instead of queueing behind each other.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import re
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from harness.errors import BadInput
from harness.fsutil import atomic_write_bytes

CODE_VERSION = "1"
#: Kinds of entries the Preprocessor writes (folders under the cache root); `harness cache clear --kind` takes these.
KINDS = ("landmarks", "face", "track", "aligned", "flow", "flow_sequence", "region_motion", "apex")
ENTRY_SUFFIX = ".npz"
ENTRY_MAGIC = b"HXCACHE1"
#: dtypes an entry stores raw (any other goes to the zip archive, which takes every numpy dtype)
RAW_DTYPES = frozenset({"|b1", "|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f2", "<f4", "<f8"})
KEY_FILE = ".mac-key"
BUNDLES = "bundles"
SCOPED = "scoped"
_NAME = re.compile(r"[0-9a-f]{16,64}")
Arrays = dict[str, np.ndarray]

_local = threading.local()
_versions: dict[str, str] | None = None


@contextlib.contextmanager
def thread_flag(local: threading.local, name: str) -> Iterator[None]:
    """`local.<name>` is True inside the block, and what it was before after it (blocks nest)."""
    before = getattr(local, name, False)
    setattr(local, name, True)
    try:
        yield
    finally:
        setattr(local, name, before)


class CacheBusy(Exception):
    """Another worker is computing this entry right now (only raised inside `Cache.nonblocking()`)."""


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose output we cache (a new OpenCV may compute a different flow)."""
    global _versions
    if _versions is None:
        import cv2

        from harness.preprocess.landmarks import version as mediapipe_version

        _versions = {"opencv": cv2.__version__, "mediapipe": mediapipe_version(),
                     "numpy": ".".join(np.__version__.split(".")[:2])}
    return _versions


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def mac_key(root: Path) -> bytes:
    """The cache's MAC key (32 random bytes, created on first use, readable by its owner only)."""
    from harness.fsutil import secret_bytes

    try:
        return secret_bytes(Path(root) / KEY_FILE)
    except ValueError as exc:
        raise BadInput(f"{exc}, and run `harness cache clear`") from None


def encode_entry(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> bytes:
    """One entry's bytes: magic, header length (8 bytes, little-endian), JSON header, raw array bytes (C order).
    Arrays of other dtypes than `RAW_DTYPES` make a zip archive instead (`np.savez`, `__meta__` as bytes)."""
    parts, spec = [], []
    for name, a in arrays.items():
        a = np.asarray(a)
        a = a if a.flags.c_contiguous else a.copy(order="C")  # (np.ascontiguousarray makes a 0-d array 1-d)
        if a.dtype.str not in RAW_DTYPES:
            buf = io.BytesIO()
            np.savez(buf, __meta__=np.frombuffer(json.dumps(dict(meta)).encode(), dtype=np.uint8), **dict(arrays))
            return buf.getvalue()
        spec.append([str(name), a.dtype.str, list(a.shape)])
        parts.append(a.tobytes())
    head = json.dumps({"meta": dict(meta), "arrays": spec}, separators=(",", ":")).encode()
    return b"".join([ENTRY_MAGIC, len(head).to_bytes(8, "little"), head, *parts])


def decode_entry(data: bytes) -> tuple[Arrays, dict]:
    """(arrays, meta) of an entry's bytes in either format; ValueError (or a zip/JSON error) when damaged."""
    if not data.startswith(ENTRY_MAGIC):
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
        return arrays, json.loads(arrays.pop("__meta__").tobytes().decode())
    start = len(ENTRY_MAGIC) + 8
    end = start + int.from_bytes(data[len(ENTRY_MAGIC):start], "little")
    head = json.loads(data[start:end])
    arrays, offset = {}, end
    for name, dtype, shape in head["arrays"]:
        if dtype not in RAW_DTYPES:
            raise ValueError(f"entry array {name!r} has dtype {dtype!r}")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        size = count * np.dtype(dtype).itemsize
        if offset + size > len(data):
            raise ValueError("entry is shorter than its header says")
        arrays[name] = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(tuple(shape)).copy()
        offset += size
    if offset != len(data):
        raise ValueError("entry holds bytes its header does not describe")
    return arrays, head["meta"]


def entry_mac(key: bytes, kind: str, entry_key: str, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> str:
    h = hashlib.blake2b(key=key, digest_size=32)
    h.update(f"{kind}\0{entry_key}\0{canonical_json(meta)}\0".encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class Cache:
    """Get-or-compute of array results under content keys, safe for many processes at once."""

    def __init__(self, root: Path | str, enabled: bool = True, key: bytes | None = None):
        self.root = Path(root)
        self.enabled = enabled
        self._key = key
        self.hits: Counter[str] = Counter()
        self.misses: Counter[str] = Counter()
        self.rejected = 0

    @property
    def mac_key(self) -> bytes:
        if self._key is None:
            self._key = mac_key(self.root)
        return self._key

    def namespace(self, name: str) -> "Cache":
        """The cache of one bundle's own entries (same MAC key), under bundles/<name>/."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"bad cache namespace {name!r}")
        return Cache(self.root / BUNDLES / name, self.enabled, self.mac_key)

    def scoped(self, knowledge: str) -> "ScopedCache":
        """This cache plus the entries written for folds that knew the labels `knowledge` names: reads fall back
        to this cache, writes stay in the scope (scoped/<knowledge>/)."""
        if not _NAME.fullmatch(knowledge):
            raise ValueError(f"bad cache scope {knowledge!r}")
        return ScopedCache(self, self.root / SCOPED / knowledge)

    def key(self, kind: str, identity: Mapping[str, Any]) -> str:
        payload = {"kind": kind, "code": CODE_VERSION, "libs": library_versions(), "id": identity}
        return hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:40]

    def entry_path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}{ENTRY_SUFFIX}"

    def load(self, kind: str, key: str) -> tuple[Arrays, dict] | None:
        from harness.preprocess.timing import stage

        with stage("cache"):
            return self._load(kind, key)

    def _load(self, kind: str, key: str) -> tuple[Arrays, dict] | None:
        path = self.entry_path(kind, key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            arrays, meta = decode_entry(data)
            if meta.pop("__key__", None) != key:
                raise ValueError("entry holds another key")
            mac = meta.pop("__mac__", None)
            expected = entry_mac(self.mac_key, kind, key, arrays, meta)
            if not isinstance(mac, str) or not hmac.compare_digest(mac, expected):
                self.rejected += 1
                raise ValueError("entry was not written by the harness (its MAC does not verify)")
        except Exception:  # a damaged or forged entry is never returned: drop it, recompute
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # mtime = last use, for `harness cache clear --older-than`
        return arrays, meta

    def save(self, kind: str, key: str, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        from harness.preprocess.timing import stage

        with stage("cache"):
            self._save(kind, key, arrays, meta)

    def _save(self, kind: str, key: str, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        meta = json.loads(json.dumps(dict(meta), default=str))  # the MAC covers what a reader will parse
        mac = entry_mac(self.mac_key, kind, key, arrays, meta)
        atomic_write_bytes(self.entry_path(kind, key), encode_entry(arrays, {**meta, "__key__": key, "__mac__": mac}),
                           durable=False)

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # no advisory locks (Windows): parallel workers may compute twice, never corrupt
            yield
            return
        lock_dir = self.root / ".locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / f"{key}.lock", "a+") as fh:
            flags = fcntl.LOCK_EX | (fcntl.LOCK_NB if getattr(_local, "nonblocking", False) else 0)
            try:
                fcntl.flock(fh, flags)
            except BlockingIOError:
                raise CacheBusy(key) from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def nonblocking(self) -> contextlib.AbstractContextManager[None]:
        """Inside this block, an entry another process is computing raises `CacheBusy` instead of waiting."""
        return thread_flag(_local, "nonblocking")

    def get_or_compute(self, kind: str, identity: Mapping[str, Any],
                       compute: Callable[[], tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> tuple[Arrays, dict]:
        """The cached (arrays, meta) for this identity, computing and storing them on a miss."""
        if not self.enabled:
            arrays, meta = compute()
            self.misses[kind] += 1
            return dict(arrays), dict(meta)
        key = self.key(kind, identity)
        found = self.load(kind, key)
        if found is not None:
            self.hits[kind] += 1
            return found
        with self._locked(key):
            found = self.load(kind, key)  # another worker may have written it while we waited
            if found is not None:
                self.hits[kind] += 1
                return found
            arrays, meta = compute()
            self.save(kind, key, arrays, meta)
            self.misses[kind] += 1
            return dict(arrays), dict(meta)


class ScopedCache(Cache):
    """Reads `base` first, then its own folder; writes only its own folder (same MAC key)."""

    def __init__(self, base: Cache, root: Path):
        super().__init__(root, base.enabled, base.mac_key)
        self.base = base

    def load(self, kind: str, key: str) -> tuple[Arrays, dict] | None:
        return self.base.load(kind, key) or super().load(kind, key)


# --- inspection and clearing (`harness cache info|clear`) -----------------------------------------------------
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """'90s', '30m', '12h', '7d', '2w' -> seconds."""
    m = _AGE.match(str(text))
    if not m:
        raise BadInput(f"age {text!r} is not a number followed by s, m, h, d or w (e.g. 7d, 12h)")
    return float(m.group(1)) * _UNIT[m.group(2)]


def _kind_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def info(root: Path | str) -> dict[str, Any]:
    """Entries, bytes and age per kind, plus leftovers of killed writes."""
    root = Path(root)
    kinds: dict[str, dict[str, Any]] = {}
    partial = 0
    for kdir in _kind_dirs(root):
        n, size, oldest, newest = 0, 0, None, None
        for path in kdir.rglob("*"):
            if not path.is_file():
                continue
            if path.name.endswith(".tmp"):
                partial += 1
                continue
            if path.suffix != ENTRY_SUFFIX:
                continue
            st = path.stat()
            n, size = n + 1, size + st.st_size
            oldest = st.st_mtime if oldest is None else min(oldest, st.st_mtime)
            newest = st.st_mtime if newest is None else max(newest, st.st_mtime)
        kinds[kdir.name] = {"entries": n, "bytes": size, "oldest": oldest, "newest": newest}
    return {
        "location": str(root),
        "entries": sum(k["entries"] for k in kinds.values()),
        "bytes": sum(k["bytes"] for k in kinds.values()),
        "partial_writes": partial,
        "kinds": kinds,
        "code_version": CODE_VERSION,
    }


def clear(root: Path | str, kind: str | None = None, older_than: float | None = None) -> dict[str, Any]:
    """Delete entries (all, one kind, and/or those unused for `older_than` seconds); also leftover temp files."""
    root = Path(root)
    dirs = _kind_dirs(root)
    if kind is not None:
        names = [d.name for d in dirs]
        if kind not in names:
            from harness.registry import suggest

            if kind not in KINDS:
                raise BadInput(suggest(kind, sorted(set(names) | set(KINDS)), "cache kind"))
            return {"location": str(root), "removed": 0, "bytes": 0, "partial_writes": 0}
        dirs = [d for d in dirs if d.name == kind]
    cutoff = None if older_than is None else time.time() - older_than
    removed = size = partial = 0
    for kdir in dirs:
        for path in sorted(kdir.rglob("*")):
            if not path.is_file():
                continue
            st = path.stat()
            if path.name.endswith(".tmp"):
                if st.st_mtime < time.time() - 60:  # a write that old was killed (writes take milliseconds)
                    with contextlib.suppress(OSError):
                        path.unlink()
                        partial += 1
                continue
            if cutoff is not None and st.st_mtime >= cutoff:
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                removed, size = removed + 1, size + st.st_size
        for sub in sorted(kdir.rglob("*"), reverse=True):
            if sub.is_dir():
                with contextlib.suppress(OSError):
                    sub.rmdir()
        with contextlib.suppress(OSError):
            kdir.rmdir()
    if kind is None and older_than is None:
        locks = root / ".locks"
        if locks.is_dir():
            for lock in locks.iterdir():
                with contextlib.suppress(OSError):
                    lock.unlink()
    return {"location": str(root), "removed": removed, "bytes": size, "partial_writes": partial}
