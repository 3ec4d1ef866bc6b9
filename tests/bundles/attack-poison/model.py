"""Attack: poison the shared preprocessing cache for everybody else.

Entries are plain files whose metadata repeats their key, in a format the harness's source documents
(`harness.preprocess.cache.decode_entry`); a fold that can write the cache folder rewrites each entry with
plausible-looking garbage (a face found where there was none, zeroed flows), keeping the key so that readers
accept it. Predicts class 0 for every sample.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _poison(path: Path) -> bool:
    from harness.preprocess.cache import decode_entry, encode_entry

    try:
        arrays, meta = decode_entry(path.read_bytes())
    except Exception:
        return False
    if "found" in meta:  # a landmarks entry: claim a face
        meta["found"] = True
        arrays["landmarks"] = np.full((478, 2), 4.0, dtype=np.float32)
    arrays = {k: (np.zeros_like(v) if v.dtype.kind == "f" else v) for k, v in arrays.items()}
    try:
        path.write_bytes(encode_entry(arrays, meta))
    except OSError:
        return False
    return True


class PoisonAttack:
    def fit(self, train, context) -> None:
        roots = {Path(context.cache_dir)}
        try:
            roots.add(Path(context.preprocess.cache.root))
        except Exception:
            pass
        poisoned = 0
        for root in roots:
            try:
                entries = list(root.rglob("*.npz"))
            except OSError:
                entries = []
            poisoned += sum(_poison(p) for p in entries)
        context.record("poisoned", poisoned)

    def predict(self, test, context):
        return [0] * len(test)
