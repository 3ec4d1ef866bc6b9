"""The supervisor's side of a fold's cache requests (see foldcache.py for the fold's side and the why).

The broker runs only harness code. It reads and writes the shared cache, with MACs, on behalf of one fold:
`get` returns an entry only if it verifies; `compute` runs a whitelisted Preprocessor method on the fold's own
sample (the supervisor's copy of it, not whatever the fold sends) and writes what it computed; `put` files an
entry the bundle computed in the bundle's namespace; `read_ahead` starts computing a `Preprocessor.map`'s calls
for the samples the fold has not reached yet, on the cores it leaves idle (readahead.py). Where it writes depends
on what the fold knows: until it fetched its labels, into the cache every fold reads; after, into the scope of
its knowledge (the protocol, the fold and its training samples), which only folds that knew exactly the same
labels read: whatever the request encodes, they knew it already.
"""
from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from harness.runner.channel import pack_arrays, unpack_arrays
from harness.runner.foldcache import BROKERED, decode

_KIND = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_KEY = re.compile(r"^[0-9a-f]{40}$")


class Broker:
    def __init__(self, cache_root: str, namespace: str, knowledge: str, samples: dict[str, Any], threads: int = 1):
        from harness.preprocess.cache import Cache

        self.shared = Cache(cache_root)
        self.own = self.shared.namespace(namespace)
        self.scoped = {"harness": self.shared.scoped(knowledge), "bundle": self.own.scoped(knowledge)}
        self.knowledge = knowledge
        self.samples = samples
        self.threads = threads
        self.label_free = True
        self._pre: dict[bool, Any] = {}
        self.ahead: Any = None   # the running ReadAhead, if any
        self.helper_timings: dict = {}  # the stage clocks of the read-ahead helpers that have ended
        self.stats = {"get": 0, "hit": 0, "computed": 0, "computed_scoped": 0, "put": 0, "put_scoped": 0,
                      "refused": 0, "busy": 0, "read_ahead": 0, "read_ahead_computed": 0,
                      "read_ahead_failed": 0}

    def _preprocessor(self):
        """Preprocessing that writes where the fold's knowledge allows (shared, or its scope)."""
        if self.label_free not in self._pre:
            from harness.preprocess.preprocessor import Preprocessor

            pre = Preprocessor(Path(self.shared.root).parent, threads=self.threads)
            pre.cache = self.shared if self.label_free else self.scoped["harness"]
            self._pre[self.label_free] = pre
        return self._pre[self.label_free]

    def _cache(self, space: Any) -> Any:
        """Where a read looks (the shared entries, then those of the fold's scope)."""
        return self.scoped.get(space)

    def handle(self, header: dict, payload: bytes) -> tuple[dict, bytes]:
        """Answer one request (`get`, `compute` or `put`); never raises for a bad request."""
        op = header["op"]
        try:
            if op == "get":
                return self._get(header)
            if op == "compute":
                return self._compute(header), b""
            if op == "put":
                return self._put(header, payload), b""
            if op == "read_ahead":
                return self._read_ahead(header), b""
        except Exception as exc:  # a request the harness code cannot serve: the fold computes it itself
            self.stats["refused"] += 1
            return {"op": op, "ok": False, "hit": False, "reason": f"{type(exc).__name__}: {exc}"[:300]}, b""
        return {"op": op, "ok": False, "reason": "unknown request"}, b""

    def _checked(self, header: dict) -> tuple[Any, str, str]:
        cache, kind, key = self._cache(header.get("space", "bundle")), header.get("kind"), header.get("key")
        if cache is None or not isinstance(kind, str) or not _KIND.match(kind) or not isinstance(key, str) \
                or not _KEY.match(key):
            raise ValueError("bad cache address")
        return cache, kind, key

    def _get(self, header: dict) -> tuple[dict, bytes]:
        cache, kind, key = self._checked(header)
        self.stats["get"] += 1
        found = cache.load(kind, key)
        if found is None:
            return {"op": "get", "hit": False}, b""
        self.stats["hit"] += 1
        spec, payload = pack_arrays(found[0])
        return {"op": "get", "hit": True, "meta": found[1], "arrays": spec}, payload

    def _compute(self, header: dict) -> dict:
        from harness.preprocess.cache import CacheBusy
        from harness.preprocess.errors import NoFaceError

        method, sample = header.get("method"), self.samples.get(header.get("sample"))
        if method not in BROKERED or sample is None:
            return {"op": "compute", "ok": False, "reason": "unknown method or sample"}
        args, kwargs = decode(header.get("args", [])), decode_kwargs(header.get("kwargs", {}))
        if self.ahead is not None:
            self.ahead.reached(sample.sample_id)
        pre = self._preprocessor()
        try:
            with pre.cache.nonblocking() if header.get("nonblocking") else contextlib.nullcontext():
                getattr(pre, method)(sample, *args, **kwargs)
        except NoFaceError:
            pass  # "no face" is a cached answer too
        except CacheBusy:  # another fold's supervisor is computing one of its entries: the fold comes back later
            self.stats["busy"] += 1
            return {"op": "compute", "ok": False, "busy": True}
        self.stats["computed" if self.label_free else "computed_scoped"] += 1
        return {"op": "compute", "ok": True}

    def _put(self, header: dict, payload: bytes) -> dict:
        _, kind, key = self._checked({**header, "space": "bundle"})
        meta = header.get("meta")
        if not isinstance(meta, dict):
            raise ValueError("meta must be a mapping")
        target = self.own if self.label_free else self.scoped["bundle"]
        target.save(kind, key, unpack_arrays(header.get("arrays"), payload), meta)
        self.stats["put" if self.label_free else "put_scoped"] += 1
        return {"op": "put", "ok": True}

    def _read_ahead(self, header: dict) -> dict:
        """Start helpers on a map's remaining samples (one read-ahead at a time: a new map ends the last one's)."""
        from harness.runner.readahead import MAX_CALLS, MIN_SAMPLES, READ_AHEAD, ReadAhead

        if self.threads < 2:
            return {"op": "read_ahead", "ok": False, "reason": "no idle core"}
        calls, ids = header.get("calls"), header.get("samples")
        if not isinstance(calls, list) or not 0 < len(calls) <= MAX_CALLS or not isinstance(ids, list) \
                or len(ids) > len(self.samples) or not all(isinstance(i, str) and i in self.samples for i in ids):
            raise ValueError(f"read-ahead needs 1 to {MAX_CALLS} calls and the fold's own samples")
        decoded = []
        for call in calls:
            if not isinstance(call, dict) or call.get("method") not in READ_AHEAD:
                raise ValueError("read-ahead takes only calls whose arguments are settings")
            decoded.append((call["method"], decode(call.get("args", [])), decode_kwargs(call.get("kwargs", {}))))
        ids = list(dict.fromkeys(ids))
        if len(ids) < MIN_SAMPLES:
            return {"op": "read_ahead", "ok": False, "reason": "too few samples to be worth a helper"}
        self.close()
        self.ahead = ReadAhead(str(self.shared.root), None if self.label_free else self.knowledge, self.samples, ids,
                               decoded, self.threads - 1)
        self.stats["read_ahead"] += 1
        return {"op": "read_ahead", "ok": True}

    def close(self) -> None:
        """Stop the read-ahead helpers (at a new read-ahead, and before the supervisor reports)."""
        if self.ahead is not None:
            from harness.preprocess.timing import merge

            self.ahead.stop()
            self.stats["read_ahead_computed"] += self.ahead.computed
            self.stats["read_ahead_failed"] += self.ahead.failed
            self.helper_timings = merge(self.helper_timings, self.ahead.timings)
            self.ahead = None


def decode_kwargs(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError("keyword arguments must be a mapping")
    return {str(k): decode(v) for k, v in value.items()}
