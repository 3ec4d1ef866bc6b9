"""The bundle's entry point: region-motion sequences -> full-sequence transformer, via the shared training loop.

Config keys (all flat, from the profile plus `--set` overrides; sources in README.md):
- features (`features.FeatureConfig`): mode, rate, max_len, drift, face_size, flow_backend, flow_params, top_p,
  global_p;
- model (`model.FullSequenceTransformer`): dim, depth, heads, dim_head, mlp_dim, dropout, emb_dropout,
  region_attention, readout;
- training (`harness.kit.nn.training.TrainConfig`): epochs, batch_size, lr, weight_decay, optimizer, scheduler, gamma,
  class_weighting, label_smoothing, grad_clip, early_stopping, patience, amp; plus inner_fraction (share of the
  training subjects held out for early stopping, only when early_stopping is on).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from harness.api import Context, Prediction, TestSet, TrainSet, split_config

from .features import FeatureConfig, extract, mirror, n_regions, pad_batch, region_names

_MODEL_KEYS = ("dim", "depth", "heads", "dim_head", "mlp_dim", "dropout", "emb_dropout", "region_attention",
               "readout")


class FullSeqTransformer:
    """fit/predict of He et al.'s full-sequence evolution transformer on shared region-motion features."""

    def __init__(self, **config: Any):
        from harness.kit.nn.training import TrainConfig

        self.features, self.train_cfg, self.model_cfg, extra = split_config(
            config, FeatureConfig, TrainConfig, set(_MODEL_KEYS), {"inner_fraction": 0.2, "mirror_augment": False},
            what="fullseq-transformer setting")
        self.inner_fraction = float(extra["inner_fraction"])
        self.mirror_augment = bool(extra["mirror_augment"])
        self.model = None
        self.scale_: float = 1.0

    # --- helpers ------------------------------------------------------------------------------------------------
    def _inputs(self, seqs: list[np.ndarray]) -> list[np.ndarray]:
        x, valid = pad_batch(seqs, self.features.steps)
        return [x / self.scale_, valid]

    def _build(self, n_classes: int, seed: int):
        import torch

        from .model import FullSequenceTransformer

        torch.manual_seed(seed)  # the fold's own init, whatever the process did before
        return FullSequenceTransformer(n_regions=n_regions(), n_classes=n_classes, max_len=self.features.steps,
                                       **self.model_cfg)

    # --- the bundle contract ------------------------------------------------------------------------------------
    def fit(self, train: TrainSet, context: Context) -> None:
        from harness.kit.nn.latency import latency_per_clip_ms
        from harness.kit.nn.training import count_parameters, fit

        seqs, positions = extract(train, context.preprocess, self.features, context)
        if not seqs:
            raise ValueError("no training clip had a face: nothing to train on")
        labels = train.labels[positions]
        self.scale_ = _motion_scale(seqs)
        self._record_lengths(context, seqs, train, positions)
        is_val = np.zeros(len(seqs), dtype=bool)
        if self.train_cfg.early_stopping:
            _, held = context.inner_split(train, self.inner_fraction)
            held_ids = set(held.ids)
            is_val = np.array([train[p].sample_id in held_ids for p in positions])
        fit_seqs = [s for s, v in zip(seqs, is_val) if not v]
        fit_labels = labels[~is_val]
        if self.mirror_augment:  # each training clip also as its mirror image (fixed, not random: deterministic)
            names = region_names()
            fit_seqs = fit_seqs + [mirror(s, names) for s in fit_seqs]
            fit_labels = np.concatenate([fit_labels, fit_labels])
        inputs = self._inputs(fit_seqs)
        val = None
        if is_val.any():
            val = (self._inputs([s for s, v in zip(seqs, is_val) if v]), labels[is_val])
        self.model = self._build(len(context.classes), int(context.rng(stream=7).integers(2 ** 31)))
        history = fit(self.model, inputs, fit_labels, self.train_cfg, context, val=val, n_classes=len(context.classes))
        context.record("n_params", count_parameters(self.model))
        context.record("latency_ms", round(latency_per_clip_ms(self.model, inputs, context.device), 3))
        if history.best_epoch is not None:  # early stopping on the inner split: where it stopped
            context.record("epochs_run", len(history.train_loss))
            context.record("best_epoch", history.best_epoch)

    def predict(self, test: TestSet, context: Context) -> Prediction:
        from harness.kit.nn.training import predict_proba

        if self.model is None:
            raise RuntimeError("predict() before fit()")
        seqs, positions = extract(test, context.preprocess, self.features, context)
        # a clip without a face is read as "no motion seen": the onset step alone
        r = n_regions()
        full = [np.zeros((1, r, 2), np.float32) for _ in range(len(test))]
        for s, p in zip(seqs, positions):
            full[p] = s
        proba = predict_proba(self.model, self._inputs(full), context.device, amp=self.train_cfg.amp)
        return Prediction(proba.argmax(axis=1).tolist(), proba)

    def batched_spec(self, context: Context):
        """`harness submit --fold-batched`: every LOSO fold at once, mirroring fit() step for step.

        Features are per sample (a clip without a face becomes the onset step alone and is left out of training,
        as in fit); the fold's RMS motion scale and its initial-weight seed are computed as fit() computes them.
        """
        import zlib

        from harness.kit.nn.batched import BatchedSpec

        from .model import FullSequenceTransformer

        if self.train_cfg.early_stopping or self.mirror_augment:
            raise ValueError("--fold-batched needs fixed epochs and no mirror augmentation (use the quick profile)")
        steps, r = self.features.steps, n_regions()

        def features(samples, ctx) -> list[np.ndarray]:
            seqs, positions = extract(samples, ctx.preprocess, self.features, ctx)
            full = [np.zeros((1, r, 2), np.float32) for _ in range(len(samples))]
            has_face = np.zeros(len(samples), dtype=bool)
            for seq, p in zip(seqs, positions):
                full[p], has_face[p] = seq, True
            x, valid = pad_batch(full, steps)
            return [x, valid, has_face]

        def input_scale(train_features: list[np.ndarray]) -> float:
            x, valid, has_face = train_features
            return _motion_scale([x[i][valid[i]] for i in range(len(x)) if has_face[i]])

        def make_model():
            return FullSequenceTransformer(n_regions=r, n_classes=len(context.classes), max_len=steps,
                                           **self.model_cfg).use_explicit_attention()

        def init_seed(fold: str) -> int:  # = Context.rng(stream=7) of that fold, as fit() draws it
            return int(np.random.default_rng([context.seed, zlib.crc32(fold.encode()), 7]).integers(2 ** 31))

        return BatchedSpec(features=features, make_model=make_model, train_config=self.train_cfg,
                           init_seed=init_seed, input_scale=input_scale, trainable=lambda f: f[2], model_inputs=2)

    def _record_lengths(self, context: Context, seqs: list[np.ndarray], train: TrainSet, positions: list[int]) -> None:
        """Effective sequence lengths (steps the model sees) and the source frames they came from."""
        lengths = np.array([len(s) for s in seqs])
        frames = np.array([train[p].n_frames for p in positions])
        context.record("seq_len_mean", round(float(lengths.mean()), 2))
        context.record("seq_len_min", int(lengths.min()))
        context.record("seq_len_max", int(lengths.max()))
        context.record("source_frames_mean", round(float(frames.mean()), 1))


def _motion_scale(seqs: list[np.ndarray]) -> float:
    """RMS of the training motion (one scalar, so directions and region ratios are kept): inputs ~ unit scale."""
    allv = np.concatenate([s.reshape(-1) for s in seqs])
    rms = float(np.sqrt(np.mean(allv.astype(np.float64) ** 2)))
    return rms if rms > 1e-8 else 1.0
