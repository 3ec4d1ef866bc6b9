"""HTNet + LAPE + ESAAT + diffusion augmentation (Zhang et al., Sci Rep 2025): the submission.

fit (one fold, training subjects only):
 1. onset→apex flow mosaics of the training samples (shared preprocessing, the `inputs` recipe); per-channel
    standardisation with statistics of these inputs, where `standardise` (HTNet's own recipe feeds 0-255);
 2. [diffusion] train the denoiser on these inputs and generate minority-class samples (counts and the
    samples' statistics recorded);
 3. train HTNet (agent attention if ESAAT, LAPE if on) for `epochs - finetune_epochs` epochs on real +
    generated inputs;
 4. [ESAAT] score every attention layer's transfer entropy on the REAL training inputs, remove the lowest
    `esaat_remove` fraction (attention -> identity), fine-tune for the remaining `finetune_epochs` epochs;
    without ESAAT the model simply trains those epochs too, so every variant trains `epochs` epochs in all;
 5. record parameters and FLOPs before and after selection, layers removed, generated counts, latency.
predict: the same mosaics, standardised with the training statistics, through the trained model. Fixed epochs in
every profile (HTNet's script picks each subject's best epoch on that subject; ours never does): no model
selection on anything but training data.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.api import Context, Prediction, TestSet, TrainSet, split_config


@dataclass(frozen=True)
class Config:
    # input and backbone (HTNet, Wang et al. 2024; sizes chosen so attention sees 16 tokens, see htnet.py)
    image_size: int = 112
    patch_size: int = 7
    dim: int = 256
    heads: int = 3
    num_hierarchies: int = 3
    depths: tuple[int, ...] = (2, 2, 10)
    mlp_mult: int = 4
    # the Sci Rep modules
    lape: bool = True
    esaat: bool = True                 # agent attention + entropy-based removal of attention layers
    agent_num: int = 4
    agent_form: str = "han"            # "han" (biases + DWC) | "plain" (eq. 7 literally)
    bias_grid: int = 7
    esaat_remove: float = 0.4          # fraction of attention layers removed (Lin et al. remove 40% of DeiT-B's)
    diffusion: bool = True
    diffusion_T: int = 1000
    diffusion_train_steps: int = 4000
    diffusion_batch_size: int = 64
    diffusion_lr: float = 2e-4
    diffusion_width: int = 64
    diffusion_patch: int = 1
    diffusion_max_ratio: float = 1.0
    diffusion_update: str = "clipped_x0"
    diffusion_target: str = "eps"      # what the denoiser predicts: "eps" (eq. 9) | "x0" (the clean sample)
    # training (Sci Rep: Adam, lr 5e-5, 800 epochs, cross-entropy; HTNet: batch 256, no scheduler)
    epochs: int = 800
    finetune_epochs: int = 200
    batch_size: int = 256
    lr: float = 5e-5
    optimizer: str = "adam"
    weight_decay: float = 0.0
    scheduler: str = "none"
    class_weighting: str = "balanced"
    grad_clip: float | None = None
    amp: bool = True
    # input (inputs.py): "htnet" = HTNet's published 28 px recipe per dataset; "wide" = the shared mosaic
    inputs: str = "wide"
    standardise: bool = True           # per-channel z-score with the training fold's statistics (HTNet: none)
    flow_backend: str = "dis"          # "wide" only ("htnet" takes its flow per dataset)
    flow_params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> "Config":
        values = dict(config)
        if "depths" in values:
            values["depths"] = tuple(int(d) for d in values["depths"])
        (cfg,) = split_config(values, cls, what="htnet-esaat parameter")
        if not 0 <= cfg.finetune_epochs <= cfg.epochs:
            raise ValueError(f"finetune_epochs must be in [0, epochs], got {cfg.finetune_epochs}")
        from .inputs import HTNET_SIDE, INPUTS

        if cfg.inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {tuple(INPUTS)}, got {cfg.inputs!r}")
        if cfg.inputs == "htnet" and cfg.image_size != HTNET_SIDE:
            raise ValueError(f"inputs 'htnet' is HTNet's {HTNET_SIDE} px input: image_size must be {HTNET_SIDE}")
        return cfg


def build_model(cfg: Config, n_classes: int):
    from .htnet import HTNet

    return HTNet(image_size=cfg.image_size, patch_size=cfg.patch_size, num_classes=n_classes, dim=cfg.dim,
                 heads=cfg.heads, num_hierarchies=cfg.num_hierarchies, block_repeats=cfg.depths,
                 mlp_mult=cfg.mlp_mult, attention="agent" if cfg.esaat else "softmax", agent_num=cfg.agent_num,
                 agent_form=cfg.agent_form, bias_grid=cfg.bias_grid, lape=cfg.lape)


def block_names(model) -> list[str]:
    """'level<L>.block<i>' for every block, in `model.blocks()` order."""
    return [f"level{lvl}.block{i}" for lvl, t in zip(model.levels, model.transformers) for i in range(len(t.blocks))]


class HtnetEsaat:
    def __init__(self, **config: Any):
        self.cfg = Config.from_dict(config)
        self.model_ = None
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    # --- inputs ----------------------------------------------------------------------------------------------
    def _inputs(self, samples, context: Context) -> tuple[np.ndarray, np.ndarray]:
        from .inputs import flow_mosaics

        c = self.cfg
        return flow_mosaics(samples, context, c.image_size, c.flow_backend, c.flow_params, c.inputs)

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean_) / self.std_).astype(np.float32)

    def _train_config(self, epochs: int):
        from harness.kit.nn.training import TrainConfig

        c = self.cfg
        return TrainConfig(epochs=epochs, batch_size=c.batch_size, lr=c.lr, weight_decay=c.weight_decay,
                           optimizer=c.optimizer, scheduler=c.scheduler, class_weighting=c.class_weighting,
                           grad_clip=c.grad_clip, amp=c.amp)

    # --- the contract ----------------------------------------------------------------------------------------
    def fit(self, train: TrainSet, context: Context) -> None:
        import torch

        from harness.kit.nn.latency import latency_per_clip_ms
        from harness.kit.nn.training import count_parameters

        from .flops import count_flops

        c, k, device = self.cfg, len(train.classes), context.device
        cpu0 = time.process_time()
        raw, ok = self._inputs(train, context)
        raw, y = raw[ok], train.labels[ok]
        if len(y) == 0:
            raise ValueError("no training sample had a face: nothing to train on")
        if c.standardise:
            self.mean_ = raw.mean(axis=(0, 2, 3), keepdims=True)
            self.std_ = raw.std(axis=(0, 2, 3), keepdims=True) + 1e-6
        else:  # the inputs as they come (HTNet trains on 0-255 values)
            self.mean_, self.std_ = np.zeros((1, 3, 1, 1), np.float32), np.ones((1, 3, 1, 1), np.float32)
        x_real = self._standardise(raw)
        seeds = context.rng(stream=8).integers(0, 2 ** 31 - 1, size=2)
        details: dict[str, Any] = {"train_real": int(len(y))}  # non-numeric record: kept out of ablation columns

        x_train, y_train = self._augment(x_real, y, train.classes, int(seeds[0]), context, details)

        torch.manual_seed(int(seeds[1]))  # same initial weights whether or not diffusion ran
        model = build_model(c, k)
        example = torch.as_tensor(x_real[:1])
        n_before, flops_before = count_parameters(model), count_flops(model, example)
        removed = self._train_and_select(model, x_train, y_train, x_real, k, context, details)
        self.model_ = model

        context.record("n_params_before", n_before)         # before entropy-based selection
        context.record("n_params", count_parameters(model))  # the model that predicts
        context.record("flops_before", flops_before)
        context.record("flops", count_flops(model, example))
        context.record("layers_removed", len(removed))
        context.record("tokens_per_attention", model.tokens_per_attention)
        context.record("latency_ms", round(latency_per_clip_ms(model, [x_real], device), 3))
        details["fit_cpu_s"] = round(time.process_time() - cpu0, 3)  # CPU time: a budget measure that load
        context.record("details", details)                           # from other processes does not inflate

    def _augment(self, x_real: np.ndarray, y: np.ndarray, classes, seed: int, context: Context,
                 details: dict) -> tuple[np.ndarray, np.ndarray]:
        """Real training inputs plus, with `diffusion`, the generated minority-class samples (counts recorded)."""
        from . import diffusion as diff

        c, k = self.cfg, len(classes)
        generated = np.zeros(k, dtype=np.int64)
        x_train, y_train = x_real, y
        if c.diffusion:
            t0 = time.perf_counter()
            dcfg = diff.DiffusionConfig(T=c.diffusion_T, train_steps=c.diffusion_train_steps,
                                        batch_size=c.diffusion_batch_size, lr=c.diffusion_lr,
                                        width=c.diffusion_width, patch=c.diffusion_patch,
                                        max_ratio=c.diffusion_max_ratio, update=c.diffusion_update,
                                        target=c.diffusion_target)
            gx, gy, generated = diff.augment(x_real, y, k, dcfg, seed, context.device)
            x_train, y_train = np.concatenate([x_real, gx]), np.concatenate([y, gy])
            details["diffusion_s"] = round(time.perf_counter() - t0, 3)
            self._record_quality(diff.sample_quality(x_real, y, gx, gy, k), context, details)
        context.record("generated", {cls: int(n) for cls, n in zip(classes, generated)})
        context.record("generated_total", int(generated.sum()))
        return x_train, y_train

    @staticmethod
    def _record_quality(quality: dict[str, float], context: Context, details: dict) -> None:
        """What the generated samples look like (`diffusion.sample_quality`): all of it in `details`, and the three
        numbers that say whether they are data or noise as their own records (ablation columns)."""
        if not quality:
            return
        details["generated_quality"] = quality
        context.record("gen_saturated", quality["saturated"])
        if "other_class_dist" in quality:  # the fold's training set has another class to compare with
            context.record("gen_own_other_dist", round(quality["own_class_dist"] / quality["other_class_dist"], 4))
            context.record("gen_probe_acc", quality["probe_acc"])

    def _train_and_select(self, model, x_train: np.ndarray, y_train: np.ndarray, x_real: np.ndarray, k: int,
                          context: Context, details: dict) -> list[str]:
        """Train; with ESAAT, remove the lowest-transfer-entropy attention layers (scored on the REAL training
        inputs only) and fine-tune for the remaining epochs. Returns the removed blocks' names."""
        from harness.kit.nn.training import fit

        from .entropy_selection import n_to_remove, remove_attention_layers, select_attention_layers

        c = self.cfg
        n_attn = len(model.attention_blocks())
        n_remove = n_to_remove(n_attn, c.esaat_remove) if c.esaat else 0
        first = c.epochs - c.finetune_epochs if n_remove else c.epochs
        fit(model, [x_train], y_train, self._train_config(first), context, n_classes=k)
        removed: list[str] = []
        te_scores: list[dict[str, float]] = []
        if n_remove:
            sel = select_attention_layers(model, x_real, n_remove, context.device)
            names = block_names(model)
            removed = [names[i] for i in sel.removed]
            te_scores = [{names[i]: round(v, 4) for i, v in step.items()} for step in sel.scores]
            remove_attention_layers(model, sel.removed)
            if c.finetune_epochs:
                fit(model, [x_train], y_train, self._train_config(c.finetune_epochs), context, n_classes=k)
        details.update(attention_layers=n_attn, removed_blocks=removed, te_scores=te_scores)
        return removed

    def predict(self, test: TestSet, context: Context) -> Prediction:
        from harness.kit.nn.training import predict_proba

        if self.model_ is None:
            raise RuntimeError("predict before fit")
        raw, _ = self._inputs(test, context)
        proba = predict_proba(self.model_, [self._standardise(raw)], context.device, amp=self.cfg.amp)
        return Prediction([int(i) for i in proba.argmax(axis=1)], proba)
