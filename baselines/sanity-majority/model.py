"""Majority class: the floor every real method must clear."""
from __future__ import annotations

import numpy as np

from harness.api import Context, Prediction, TestSet, TrainSet


class MajorityClass:
    def __init__(self) -> None:
        self.majority_: int | None = None

    def fit(self, train: TrainSet, context: Context) -> None:
        self.majority_ = int(np.argmax(train.class_counts()))  # ties -> the lowest class index

    def predict(self, test: TestSet, context: Context) -> Prediction:
        k = len(test.classes)
        proba = np.zeros((len(test), k))
        proba[:, self.majority_] = 1.0
        return Prediction([self.majority_] * len(test), proba)
