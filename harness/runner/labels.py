"""Training labels that reach a fold's process only when bundle code first reads one.

A fold's job arrives without labels; `FoldLabelledSample` looks like `LabelledSample` but fetches the labels of
the whole training set from the supervisor the first time any label field (label, label_index, emotion, aus) is
read, in one request. Until then the process holds no label at all, so what it asks of the shared cache in the
meantime carries none (see foldcache.py); the supervisor stops serving shared writes the moment it hands the
labels over.
"""
from __future__ import annotations

import threading
from typing import Callable, Sequence

from harness.api import LabelledSample, Sample

LABEL_FIELDS = ("label", "label_index", "emotion", "aus")


class LabelSource:
    """Fetches {sample id: (label, label_index, emotion, aus)} once, on first use."""

    def __init__(self, fetch: Callable[[], dict[str, tuple]]):
        self._fetch = fetch
        self._labels: dict[str, tuple] | None = None
        self._lock = threading.Lock()

    @property
    def delivered(self) -> bool:
        return self._labels is not None

    def get(self, sample_id: str) -> tuple:
        if self._labels is None:
            with self._lock:
                if self._labels is None:
                    self._labels = self._fetch()
        return self._labels[sample_id]


def _field(position: int, name: str) -> property:
    def fget(self):
        given = self.__dict__
        return given[name] if name in given else given["_source"].get(self.sample_id)[position]

    def fset(self, value):  # only dataclass machinery (replace, copy) sets fields: the instance is frozen
        self.__dict__[name] = value

    return property(fget, fset)


class FoldLabelledSample(LabelledSample):
    """A training sample of a fold; its label fields are fetched on first read."""

    def __reduce__(self):  # pickling (or deepcopy) gives a plain LabelledSample, labels included
        return LabelledSample, tuple(getattr(self, f) for f in self.__dataclass_fields__)


for _i, _name in enumerate(LABEL_FIELDS):
    setattr(FoldLabelledSample, _name, _field(_i, _name))


def with_deferred_labels(samples: Sequence[Sample], source: LabelSource) -> list[FoldLabelledSample]:
    out = []
    for s in samples:
        obj = object.__new__(FoldLabelledSample)
        for f in Sample.__dataclass_fields__:
            object.__setattr__(obj, f, getattr(s, f))
        obj.__dict__["_source"] = source
        out.append(obj)
    return out


def label_table(samples: Sequence[LabelledSample]) -> dict[str, tuple]:
    """What the supervisor hands over: {sample id: (label, label_index, emotion, aus)}."""
    return {s.sample_id: (s.label, int(s.label_index), s.emotion, s.aus) for s in samples}


def strip_labels(samples: Sequence[LabelledSample]) -> list[Sample]:
    return [Sample(**{f: getattr(s, f) for f in Sample.__dataclass_fields__}) for s in samples]
