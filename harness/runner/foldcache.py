"""The preprocessing cache as a fold sees it: read through its supervisor, written only by trusted code.

A fold cannot open the shared cache folder (its sandbox does not grant it). Instead:
- every read goes to the supervisor, which returns an entry only when its MAC verifies;
- a miss of the shared preprocessing (face, flow, region motion...) is computed by the supervisor, which runs
  only harness code on the fold's own samples and writes the result; entries of the bundle's own kinds (e.g. its
  feature vectors) are computed here and handed to the supervisor, which files them in the bundle's namespace;
- where the supervisor writes depends on what the fold knows: until it has fetched its training labels, into
  the cache every later fold and run reads; after, into the scope of exactly its knowledge (broker.py).
Why: anything a fold adds to a store others read after it has seen labels could carry them to a fold that must
not know them (even the mere existence of an entry requested with label-dependent settings); requests made
before the labels are in the process carry none, and those made after reach only folds that knew the same.
If the supervisor cannot serve a request, the fold computes it and keeps it in its scratch folder.
With cores to spare, a fold's `map` also tells its supervisor which calls its first sample made, and the
supervisor computes them for the other samples meanwhile (readahead.py).
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from harness.runner.channel import pack_arrays, unpack_arrays
from harness.runner.readahead import READ_AHEAD

#: Preprocessor methods a fold may ask its supervisor to compute (one request per outermost call).
BROKERED = ("landmarks", "face", "track", "aligned_clip", "flow", "apex_frame", "onset_apex_flow", "flow_sequence",
            "region_motion", "spot_apex")
_CONFIGS = ("FaceConfig", "FlowConfig", "SpotConfig")
_state = threading.local()


class Unencodable(Exception):
    """An argument that is not a plain value or a preprocessing config: the call is computed in the fold."""


def encode(value: Any) -> Any:
    """A JSON form of a brokered call's argument: plain values, lists, and the preprocessing configs."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    name = type(value).__name__
    if dataclasses.is_dataclass(value) and name in _CONFIGS:
        return {"__config__": name, "fields": {f.name: encode(getattr(value, f.name))
                                               for f in dataclasses.fields(value)}}
    raise Unencodable(name)


def decode(value: Any, depth: int = 0) -> Any:
    """The inverse of `encode`, for the supervisor; configs are rebuilt (and so validated) by their classes."""
    from harness.preprocess import config as cfg

    if depth > 6:
        raise ValueError("argument nested too deeply")
    if isinstance(value, list):
        if len(value) > 4096:
            raise ValueError("argument list too long")
        return [decode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        name, fields = value.get("__config__"), value.get("fields")
        if name not in _CONFIGS or not isinstance(fields, dict) or set(value) != {"__config__", "fields"}:
            raise ValueError("only preprocessing configs may be passed as mappings")
        kwargs = {str(k): decode(v, depth + 1) for k, v in fields.items()}
        if name == "FlowConfig" and "params" in kwargs:
            kwargs["params"] = {str(k): v for k, v in kwargs["params"]}
        return getattr(cfg, name)(**kwargs)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"unexpected argument type {type(value).__name__}")


@dataclasses.dataclass
class Call:
    method: str
    sample_id: str
    args: list
    kwargs: dict
    asked: bool = False


class FoldCache:
    """`Cache`'s interface (key, load, get_or_compute, nonblocking, hits, misses) over the supervisor link."""

    enabled = True

    def __init__(self, link, local, harness_kinds: tuple[str, ...]):
        self.link, self.local, self.harness_kinds = link, local, harness_kinds
        self.key = local.key
        self.hits: Counter[str] = Counter()
        self.misses: Counter[str] = Counter()
        self.computed_by_supervisor = 0

    def _space(self, kind: str) -> str:
        return "harness" if kind in self.harness_kinds else "bundle"

    def load(self, kind: str, key: str) -> tuple[dict, dict] | None:
        header, payload = self.link.ask({"op": "get", "space": self._space(kind), "kind": kind, "key": key})
        if header.get("hit"):
            return unpack_arrays(header["arrays"], payload), dict(header["meta"])
        return self.local.load(kind, key)

    def _ask_supervisor_to_compute(self) -> bool:
        call = getattr(_state, "call", None)
        if call is None or call.asked:
            return False
        call.asked = True
        seen = getattr(_state, "seen", None)
        if seen is not None and call.method in READ_AHEAD:  # a miss the other samples of the map will have too
            ahead = {"method": call.method, "args": call.args, "kwargs": call.kwargs}
            if ahead not in seen:
                seen.append(ahead)
        header, _ = self.link.ask({"op": "compute", "method": call.method, "sample": call.sample_id,
                                   "args": call.args, "kwargs": call.kwargs,
                                   "nonblocking": bool(getattr(_state, "nonblocking", False))})
        if header.get("busy"):
            from harness.preprocess.cache import CacheBusy

            raise CacheBusy(call.sample_id)  # another fold computes it now: `Preprocessor.map` comes back later
        self.computed_by_supervisor += bool(header.get("ok"))
        return bool(header.get("ok"))

    def get_or_compute(self, kind: str, identity: Mapping[str, Any],
                       compute: Callable[[], tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> tuple[dict, dict]:
        key = self.key(kind, identity)
        found = self.load(kind, key)
        if found is None and kind in self.harness_kinds and self._ask_supervisor_to_compute():
            found = self.load(kind, key)
        if found is not None:
            self.hits[kind] += 1
            return found
        arrays, meta = compute()
        self.misses[kind] += 1
        arrays, meta = dict(arrays), dict(meta)
        if kind not in self.harness_kinds:
            spec, payload = pack_arrays(arrays)
            reply, _ = self.link.ask({"op": "put", "kind": kind, "key": key, "meta": meta, "arrays": spec}, payload)
            if reply.get("ok"):
                return arrays, meta
        self.local.save(kind, key, arrays, meta)
        return arrays, meta

    def read_ahead(self, calls: list[dict], sample_ids: list[str]) -> bool:
        """Ask the supervisor to compute `calls` for `sample_ids` while this process goes on (True if it does)."""
        header, _ = self.link.ask({"op": "read_ahead", "calls": calls, "samples": sample_ids})
        return bool(header.get("ok"))

    def nonblocking(self) -> contextlib.AbstractContextManager[None]:
        """Inside `Preprocessor.map`: the supervisor answers "busy" for a sample another fold is computing
        (instead of waiting on its lock), and `map` moves on to the next one; concurrent folds then share the
        preprocessing instead of queueing behind each other."""
        from harness.preprocess.cache import thread_flag

        return thread_flag(_state, "nonblocking")


def _brokered(method):
    @functools.wraps(method)
    def wrapper(self, sample, *args, **kwargs):
        from harness.preprocess.timing import stage

        if getattr(_state, "call", None) is not None:
            return method(self, sample, *args, **kwargs)
        try:
            _state.call = Call(method.__name__, str(sample.sample_id), encode(list(args)),
                               {str(k): encode(v) for k, v in kwargs.items()})
        except Unencodable:
            _state.call = Call(method.__name__, "", [], {}, asked=True)  # computed in the fold
        try:
            with stage("preprocess"):  # the fold's wait for its supervisor (the stages are the supervisor's)
                return method(self, sample, *args, **kwargs)
        finally:
            _state.call = None
    return wrapper


def _reading_ahead(cache: FoldCache, samples: list, fn: Callable) -> Callable:
    """`fn`, which for the first sample that makes the supervisor compute something also notes those
    (settings-only) calls and has the supervisor compute them for the samples after it."""
    position = {id(s): i for i, s in enumerate(samples)}
    pending = [True]

    def first_then_ahead(sample):
        if not pending:
            return fn(sample)
        outer, _state.seen = getattr(_state, "seen", None), []
        seen = _state.seen
        try:
            return fn(sample)
        finally:
            _state.seen = outer
            if seen:
                pending.clear()
                rest = samples[position.get(id(sample), len(samples)) + 1:]
                if rest:
                    cache.read_ahead(seen, [str(s.sample_id) for s in rest])

    return first_then_ahead


def fold_preprocessor(link, scratch: Path, threads: int):
    """The `context.preprocess` of a fold: the shared Preprocessor API over a `FoldCache`."""
    from harness.preprocess.cache import KINDS, Cache
    from harness.preprocess.preprocessor import Preprocessor

    class FoldPreprocessor(Preprocessor):
        def map(self, samples, fn, **kwargs):
            samples = list(samples)
            return super().map(samples, _reading_ahead(self.cache, samples, fn) if threads > 1 else fn, **kwargs)

    for name in BROKERED:
        setattr(FoldPreprocessor, name, _brokered(getattr(Preprocessor, name)))
    pre = FoldPreprocessor(scratch, threads=threads)
    pre.cache = FoldCache(link, Cache(Path(scratch) / "preprocess"), KINDS)
    return pre
