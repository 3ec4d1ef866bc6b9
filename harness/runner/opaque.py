"""What a fold calls a sample: an opaque id, not the release's.

Release ids can name the class (every SMIC clip is `s<N>_<ne|po|sur>_<NN>`), and the order a release lists its
clips in can too (SMIC's tree is read class by class). So a fold sees each sample under HMAC(secret, release
id), with the secret kept in HARNESS_HOME (a fold cannot read it); its staged frames folder carries the same
name; test samples come sorted by their frames' content key, then by that id, an order that only the frames
decide. The harness maps the ids back when it commits a fold. Same secret (same HARNESS_HOME), same ids, so same
seed + same machine still gives the same predictions.
"""
from __future__ import annotations

import hashlib
from typing import Iterable

ID_KEY_FILE = ".sample-id-key"


def sample_id_key() -> bytes:
    from harness.paths import harness_home
    from harness.fsutil import secret_bytes

    return secret_bytes(harness_home() / ID_KEY_FILE)


def opaque_ids(uids: Iterable[str], key: bytes | None = None) -> dict[str, str]:
    """release uid -> opaque id ("s" + 20 hex digits), distinct for distinct uids."""
    key = sample_id_key() if key is None else key
    out: dict[str, str] = {}
    for uid in uids:
        out[uid] = "s" + hashlib.blake2b(str(uid).encode(), key=key, digest_size=10).hexdigest()
    if len(set(out.values())) != len(out):  # 80 bits: never in practice, but a collision must not merge samples
        raise RuntimeError("two sample ids collided; delete HARNESS_HOME/" + ID_KEY_FILE)
    return out
