"""What a bundle sees of the data: samples (test samples carry no label at all), the fold's training and test
sets, and what `predict` returns."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

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
