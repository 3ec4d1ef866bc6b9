"""The contract between the harness and a submission bundle: the only package a bundle must import.

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

`split_config` turns a profile's flat config into the bundle's config objects, refusing unknown keys; a
bundle that refuses its settings raises `BadInput` (the run then exits 2 before it takes a phase slot).
Optional building blocks (the SVM stage, neural training helpers, the preprocessing configs) are in
`harness.kit`.

Nothing here imports the engine: the services a fold gives a bundle (`context.preprocess`,
`context.inner_split`) are handed to the Context by the worker that runs it.
"""
from harness.api.config import split_config
from harness.api.context import Context
from harness.api.data import LabelledSample, Prediction, Sample, TestSet, TrainSet
from harness.errors import BadInput

__all__ = ["BadInput", "Context", "LabelledSample", "Prediction", "Sample", "TestSet", "TrainSet", "split_config"]
