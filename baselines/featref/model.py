"""FeatRef (Zhou et al., Pattern Recognition 122:108275, 2022): the DFME baseline, trained with the shared loop.

Input: onset -> apex optical flow (u, v; optionally strain) on the aligned face, from the shared preprocessing.
Loss: class-weighted cross-entropy (harness.kit.nn.training) + proposal_weight x the per-class proposal loss.
Every parameter and its source: README.md.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.api import BadInput, split_config
from harness.kit.nn.training import TrainConfig

from .network import FeatRefConfig

CHANNELS = {"uv": 2, "uvs": 3}


@dataclass(frozen=True)
class InputConfig:
    """channels: uv (the paper's horizontal + vertical flow) or uvs (+ optical strain).
    flow_backend / flow_params: the shared FlowConfig; the map side is FeatRefConfig.size.
    proposal_weight: lambda in CE + lambda * proposal loss. val_fraction: inner split (early stopping only)."""

    channels: str = "uv"
    flow_backend: str = "dis"
    flow_params: dict = field(default_factory=dict)
    face_size: int = 128
    proposal_weight: float = 1.0
    val_fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.channels not in CHANNELS:
            raise ValueError(f"channels must be one of {tuple(CHANNELS)}, got {self.channels!r}")
        if float(self.proposal_weight) < 0:
            raise ValueError(f"proposal_weight must be >= 0, got {self.proposal_weight!r}")


class FeatRefBundle:
    def __init__(self, **config: Any):
        if "in_channels" in config:
            raise BadInput("set `channels` (uv | uvs), not in_channels: the input decides the channel count")
        net, self.input, self.train_cfg = split_config(config, FeatRefConfig, InputConfig, TrainConfig)
        self.net_cfg = dataclasses.replace(net, in_channels=CHANNELS[self.input.channels])
        self._configs()  # validate flow settings now
        self.model = None
        self.scale_: np.ndarray | None = None
        self.majority_ = 0

    # --- inputs -------------------------------------------------------------------------------------------------
    def _configs(self):
        from harness.kit.preprocessing import FaceConfig, FlowConfig

        return (FaceConfig(size=self.input.face_size),
                FlowConfig(self.input.flow_backend, size=self.net_cfg.size, params=dict(self.input.flow_params)))

    def inputs(self, samples, context) -> tuple[np.ndarray, list[int]]:
        """(N', C, S, S) float32 flow maps of the samples with a face, and their positions in `samples`."""
        face, flow = self._configs()
        pre = context.preprocess
        channels = CHANNELS[self.input.channels]

        def one(sample) -> np.ndarray:
            return pre.onset_apex_flow(sample, flow, face).uvs()[..., :channels].transpose(2, 0, 1)

        batch = pre.map(list(samples), one, on_no_face="skip", context=context)
        shape = (0, channels, self.net_cfg.size, self.net_cfg.size)
        x = np.stack(batch.values).astype(np.float32) if len(batch) else np.zeros(shape, np.float32)
        return x, list(batch.positions)

    def _scaled(self, x: np.ndarray) -> np.ndarray:
        return (x / self.scale_[None, :, None, None]).astype(np.float32)

    # --- fit / predict --------------------------------------------------------------------------------------------
    def fit(self, train, context) -> None:
        import torch

        from harness.kit.nn.training import count_parameters, fit

        from .network import FeatRef, proposal_loss

        torch.manual_seed(int(context.rng(stream=7).integers(2 ** 31)))
        k = len(train.classes)
        x, positions = self.inputs(train, context)
        y = train.labels[positions]
        if len(np.unique(y)) < 2:
            raise BadInput("FeatRef needs at least two classes among the training samples")
        self.majority_ = int(np.argmax(np.bincount(y, minlength=k)))
        # one scale per channel from the training flows: flows of 0.1-2 px become O(1) inputs
        self.scale_ = np.sqrt((x.astype(np.float64) ** 2).mean(axis=(0, 2, 3))).clip(1e-6).astype(np.float32)
        x = self._scaled(x)
        counts = np.bincount(y, minlength=k).astype(np.float64)
        pos_weight = torch.as_tensor(np.where(counts > 0, (len(y) - counts) / np.maximum(counts, 1), 1.0),
                                     dtype=torch.float32, device=context.device)
        lam = float(self.input.proposal_weight)

        def loss_fn(model, batch, target, base):
            return base + lam * proposal_loss(model.last_proposals, target, pos_weight) if lam else base

        val = None
        if self.train_cfg.early_stopping:
            fit_part, val_part = context.inner_split(train.subset(positions), self.input.val_fraction)
            fit_ids, val_ids = set(fit_part.ids), set(val_part.ids)
            ids = [train[p].sample_id for p in positions]
            fi = [i for i, s in enumerate(ids) if s in fit_ids]
            vi = [i for i, s in enumerate(ids) if s in val_ids]
            val = ([x[vi]], y[vi])
            x, y = x[fi], y[fi]
        self.model = FeatRef(k, self.net_cfg)
        history = fit(self.model, [x], y, self.train_cfg, context, val=val, loss_fn=loss_fn, n_classes=k)
        context.record("n_params", count_parameters(self.model))
        context.record("epochs_run", len(history.train_loss))
        if history.best_epoch is not None:
            context.record("best_epoch_inner", history.best_epoch)
        context.record("train_no_face", len(train) - len(positions))
        context.record("flops", forward_flops(self.model, x[:1], context.device))

    def predict(self, test, context):
        from harness.api import Prediction
        from harness.kit.nn.latency import latency_per_clip_ms
        from harness.kit.nn.training import predict_proba

        if self.model is None:
            raise RuntimeError("predict() called before fit()")
        k = len(test.classes)
        proba = np.zeros((len(test), k))
        proba[:, self.majority_] = 1.0
        x, positions = self.inputs(test, context)
        if positions:
            x = self._scaled(x)
            proba[positions] = predict_proba(self.model, [x], context.device, self.train_cfg.eval_batch_size,
                                             self.train_cfg.amp)
            context.record("latency_ms", round(latency_per_clip_ms(self.model, [x], context.device), 3))
        context.record("test_no_face_majority", len(test) - len(positions))
        context.record("cpu_s", round(time.process_time(), 2))  # this fold's process: preprocessing + fit + predict
        return Prediction([int(i) for i in proba.argmax(axis=1)], proba)


def forward_flops(model, example: np.ndarray, device: str) -> int:
    """FLOPs of one forward pass on one clip (PyTorch's FlopCounterMode; a multiply-add counts 2)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.as_tensor(example[:1]).to(device))
    return int(counter.get_total_flops())
