"""Seeds derived from the master seed and an entity's identity, never from execution order.

Why: clips are rendered in parallel and `--subjects N` changes how many entities exist; deriving each random
stream from (master seed, names) keeps every clip's bytes the same whatever the worker count or scheduling.
"""
from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(seed: int, *names: object) -> int:
    """A 64-bit integer seed from the master seed and a path of names (dataset, subject, clip, purpose)."""
    text = "\x1f".join([str(int(seed)), *(str(n) for n in names)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def rng(seed: int, *names: object) -> np.random.Generator:
    """An independent PCG64 stream for one entity and purpose."""
    return np.random.Generator(np.random.PCG64(derive_seed(seed, *names)))
