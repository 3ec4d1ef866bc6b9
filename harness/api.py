"""The API a submission bundle sees. Everything a bundle author needs is here; nothing here reaches labels
it should not see.

A bundle exposes the scikit-learn shape:

    class MySystem:
        def __init__(self, **config): ...                       # the manifest profile's config
        def fit(self, train: TrainSet, context: Context) -> None: ...
        def predict(self, test: TestSet, context: Context) -> Prediction | list[str | int]: ...

`TrainSet` holds `LabelledSample`s (the fold's training subjects only); `TestSet` holds `Sample`s, which have no
label, emotion or action-unit attributes at all. A sample's `sample_id` is opaque (not the release's id) and the
test set's order is decided by the frames alone. Frames are read from a folder that holds only that sample's
frames (the runner stages them), so no path leads back to the data root or its annotation files. Each fold runs
in confined processes of its own (see the README's guarantees), so nothing a bundle keeps from one fold survives
into the next; in a fold, the training labels reach the process when bundle code first reads one (preprocess
before that and the shared cache keeps the work for every later fold).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np


@dataclass(frozen=True)
class Sample:
    """One micro-expression as a submission sees it at test time: identity, timing and frames."""

    sample_id: str
    dataset: str
    subject: str
    fps: float
    onset: int | None               # annotated frame numbers; None where the protocol hides key frames
    apex: int | None                # None also where the release codes no apex (SMIC): spot it
    offset: int | None
    frame_indices: tuple[int, ...]  # frame numbers available, ascending (onset..offset)
    frames_dir: str                 # a folder that holds this sample's frames and nothing else
    frame_files: tuple[str, ...]    # file names in frames_dir, aligned with frame_indices
    cache_key: str                  # content identity of the frames (for the preprocessing cache)

    @property
    def n_frames(self) -> int:
        return len(self.frame_indices)

    def position(self, frame_index: int) -> int:
        """Position in `frame_indices` of an annotated frame number (nearest available one)."""
        idx = np.asarray(self.frame_indices)
        return int(np.abs(idx - frame_index).argmin())

    def frame_paths(self, indices: Sequence[int] | None = None) -> list[Path]:
        chosen = range(self.n_frames) if indices is None else [self.position(i) for i in indices]
        return [Path(self.frames_dir, self.frame_files[p]) for p in chosen]

    def frames(self, indices: Sequence[int] | None = None, gray: bool = False) -> np.ndarray:
        """Frames as uint8, (T, H, W, 3) RGB or (T, H, W) gray; `indices` are frame numbers (default: all)."""
        from harness.imageio import read_frames

        return read_frames(self.frame_paths(indices), gray=gray)


@dataclass(frozen=True)
class LabelledSample(Sample):
    """A training sample: adds the protocol class and the annotation's emotion and action units."""

    label: str = ""
    label_index: int = -1
    emotion: str = ""
    aus: str = ""


class _SampleSet(Sequence):
    def __init__(self, samples: Sequence[Sample], classes: Sequence[str]):
        self._samples = tuple(samples)
        self.classes = tuple(classes)

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return type(self)(self._samples[i], self.classes)
        return self._samples[i]

    def __iter__(self) -> Iterator[Sample]:
        return iter(self._samples)

    @property
    def ids(self) -> list[str]:
        return [s.sample_id for s in self._samples]

    @property
    def subjects(self) -> np.ndarray:
        """Subject of each sample, dataset-qualified (two datasets' "sub01" are different people)."""
        return np.array([f"{s.dataset}/{s.subject}" for s in self._samples])

    def subset(self, positions: Sequence[int]):
        return type(self)([self._samples[int(i)] for i in positions], self.classes)


class TestSet(_SampleSet):
    """What `predict` receives: samples without labels."""


class TrainSet(_SampleSet):
    """What `fit` receives: the fold's training samples with labels."""

    @property
    def labels(self) -> np.ndarray:
        return np.array([s.label_index for s in self._samples], dtype=np.int64)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(self.classes))


@dataclass
class Prediction:
    """What `predict` may return: one class (name or index) per test sample, optionally probabilities."""

    labels: Sequence[str | int]
    proba: np.ndarray | None = None


@dataclass
class Context:
    """Run information and services handed to `fit` and `predict`.

    `inner_split` is the only sanctioned way to get a validation set (for early stopping or tuning): it is
    carved from the training subjects, never from the test fold.
    """

    classes: tuple[str, ...]
    protocol: str
    phase: str | None
    fold: str
    seed: int
    device: str                     # "cpu" or "cuda"
    profile: str
    config: dict[str, Any]
    cache_dir: Path                 # in a fold: its private cache (the shared one is behind `preprocess`)
    work_dir: Path                  # scratch space private to this fold
    threads: int = 1
    progress: Callable[..., Any] | None = None   # progress(epoch=i, total=n, **metrics)
    records: dict[str, Any] = field(default_factory=dict)
    quiet: bool = True

    def rng(self, stream: int = 0) -> np.random.Generator:
        """A generator seeded by (run seed, fold, stream): reproducible, and independent across folds."""
        import zlib

        return np.random.default_rng([self.seed, zlib.crc32(self.fold.encode()), stream])

    def record(self, key: str, value: Any) -> None:
        """Report a number about this fold (parameter count, generated samples...); stored with the run."""
        self.records[key] = value

    def report_progress(self, **info: Any) -> None:
        if self.progress is not None:
            self.progress(**info)

    def inner_split(self, train: TrainSet, fraction: float = 0.2) -> tuple[TrainSet, TrainSet]:
        """Subject-disjoint (fit, validation) split of the training samples, stratified as far as subjects allow."""
        from harness.runner.inner import inner_split

        return inner_split(train, fraction, self.seed)

    @property
    def preprocess(self):
        """The shared, cached preprocessing (faces, flow, regions); see harness.preprocess."""
        from harness.preprocess import Preprocessor

        if "_preprocessor" not in self.__dict__:
            self.__dict__["_preprocessor"] = Preprocessor(self.cache_dir, threads=self.threads)
        return self.__dict__["_preprocessor"]
