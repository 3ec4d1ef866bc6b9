"""`Context`: run information and the services handed to a bundle's `fit` and `predict`.

The services are handed in by whoever runs the bundle (the fold's worker, or a test): the shared preprocessing
(`preprocessor`, read as `context.preprocess`) and the inner validation split (`inner_splitter`, called by
`context.inner_split`). The contract imports neither: it stays at the bottom of the engine, and a test can hand
in a stand-in without touching private attributes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

#: (train, fraction, seed) -> (fit part, validation part), subject-disjoint, both TrainSets.
InnerSplitter = Callable[[Any, float, int], tuple[Any, Any]]


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
    preprocessor: Any = None        # the shared, cached preprocessing (harness.preprocess.Preprocessor's API)
    inner_splitter: InnerSplitter | None = None

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

    def inner_split(self, train, fraction: float = 0.2):
        """Subject-disjoint (fit, validation) split of the training samples, stratified as far as subjects allow."""
        if self.inner_splitter is None:
            raise RuntimeError("this Context was made without an inner splitter (the harness hands one in: "
                               "Context(..., inner_splitter=...))")
        return self.inner_splitter(train, fraction, self.seed)

    @property
    def preprocess(self):
        """The shared, cached preprocessing (faces, flow, regions); see harness.preprocess."""
        if self.preprocessor is None:
            raise RuntimeError("this Context was made without a preprocessor (the harness hands one in: "
                               "Context(..., preprocessor=...))")
        return self.preprocessor
