"""A tiny neural bundle with both training paths, used to show that --fold-batched matches fold-by-fold."""
from __future__ import annotations

import numpy as np

from harness.api import Prediction
from harness.kit.nn.batched import BatchedSpec, build_model
from harness.kit.nn.training import TrainConfig, count_parameters, fit, predict_proba


def frame_features(samples) -> list[np.ndarray]:
    """Per-sample, label-free statistics of the frames (mean, spread, change from first to last frame)."""
    rows = []
    for s in samples:
        f = s.frames(gray=True).astype(np.float32) / 255.0
        rows.append([f.mean(), f.std(), np.abs(f[-1] - f[0]).mean(), f[:, :8].mean() - f[:, 8:].mean()])
    return [np.asarray(rows, dtype=np.float32)]


class TinyMlp:
    def __init__(self, epochs: int = 12, hidden: int = 24, lr: float = 5e-3) -> None:
        self.cfg = TrainConfig(epochs=epochs, batch_size=8, lr=lr, weight_decay=1e-2)
        self.hidden = hidden

    def _factory(self, k: int):
        import torch

        hidden = self.hidden
        return lambda: torch.nn.Sequential(torch.nn.LayerNorm(4), torch.nn.Linear(4, hidden), torch.nn.GELU(),
                                           torch.nn.Linear(hidden, k))

    def fit(self, train, context) -> None:
        self.model = build_model(self._factory(len(train.classes)), context.seed)
        fit(self.model, frame_features(train), train.labels, self.cfg, context)
        context.record("n_params", count_parameters(self.model))

    def predict(self, test, context) -> Prediction:
        proba = predict_proba(self.model, frame_features(test), context.device)
        return Prediction(proba.argmax(1).tolist(), proba)

    def batched_spec(self, context) -> BatchedSpec:
        return BatchedSpec(lambda samples, ctx: frame_features(samples), self._factory(len(context.classes)), self.cfg)
