"""Stratified random guess: chance level under the training class balance, reproducible by seed."""
from __future__ import annotations

import numpy as np

from harness.api import Context, Prediction, TestSet, TrainSet


class StratifiedGuess:
    def __init__(self) -> None:
        self.prior_: np.ndarray | None = None

    def fit(self, train: TrainSet, context: Context) -> None:
        counts = train.class_counts().astype(float)
        self.prior_ = counts / counts.sum()

    def predict(self, test: TestSet, context: Context) -> Prediction:
        rng = context.rng(stream=1)
        labels = rng.choice(len(self.prior_), size=len(test), p=self.prior_)
        return Prediction(labels.tolist(), np.tile(self.prior_, (len(test), 1)))
