"""Train every LOSO fold of a neural bundle at once: one stacked set of weights per fold, one model evaluation.

Why: a LOSO protocol is dozens of tiny trainings; run one after another, each small model leaves a GPU (or the
CPU's vector units) mostly idle and pays Python overhead per step. Stacking the folds' weights and evaluating all
folds with `torch.func.vmap` turns F small steps into one wide step.

Integrity by construction: fold f's weights only ever receive gradients from samples whose mask bit for fold f is
set (its training subjects), each fold keeps its own optimiser state and step count, and a fold with no batch at
a step is not updated at all. So each fold follows exactly the trajectory `harness.kit.nn.training.fit` would give it
alone (same initial weights, same shuffling stream, same AdamW/Adam updates, same cosine schedule, same per-fold
class weights and gradient clipping), up to floating-point reduction order. Differences from `fit`: no early
stopping (fixed epochs), no auxiliary `loss_fn`, no label smoothing, and random layers (dropout) draw different
numbers than a sequential run; bundles opt in only when those hold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from harness.kit.nn.training import TrainConfig, class_weights


@dataclass
class BatchedSpec:
    """What a bundle returns from `batched_spec(context)` to opt in to `harness submit --fold-batched`.

    `features(samples, context)` maps an UNLABELLED set of samples to arrays with the sample axis first; it must be
    per-sample (no statistics over a fold, e.g. no standardisation with training means: normalise inside the model)
    so that one pass serves every fold. `make_model()` builds the network (its weights come from the seed).
    """

    features: Callable[..., list[np.ndarray]]
    make_model: Callable[[], object]
    train_config: TrainConfig
    # Optional, for bundles whose fit() does these per fold (each must mirror what fit() does exactly):
    init_seed: Callable[[str], int] | None = None               # fold name -> seed of its initial weights
    input_scale: Callable[[list[np.ndarray]], float] | None = None  # a fold's training features -> divisor of input 0
    trainable: Callable[[list[np.ndarray]], np.ndarray] | None = None  # features -> (N,) bool: usable for training
    model_inputs: int | None = None   # how many leading feature arrays the model takes (the rest are bookkeeping)


@dataclass
class StackedFolds:
    """F trained copies of one architecture, as stacked parameters."""

    base: object            # the module whose structure functional_call uses (weights ignored)
    params: dict            # name -> tensor (F, ...)
    buffers: dict
    n_folds: int
    scales: np.ndarray | None = None  # (F,) divisor of input 0 per fold

    def predict_proba(self, fold: int, inputs: Sequence[np.ndarray], device: str, batch_size: int = 256) -> np.ndarray:
        import torch
        from torch.func import functional_call

        p = {k: v[fold] for k, v in self.params.items()}
        b = {k: v[fold] for k, v in self.buffers.items()}
        tensors = [torch.as_tensor(x) for x in inputs]
        if self.scales is not None:
            tensors[0] = tensors[0] / float(self.scales[fold])
        out = []
        self.base.eval()
        with torch.no_grad():
            for i in range(0, len(tensors[0]), batch_size):
                logits = functional_call(self.base, (p, b), tuple(t[i:i + batch_size].to(device) for t in tensors))
                out.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0))


def build_model(factory: Callable[[], object], seed: int):
    """Create a model right after seeding torch, so a fold's initial weights depend on the seed alone.

    Bundles that support fold-batched training build their model this way in `fit` too, which is what makes the
    two paths start from the same weights.
    """
    import torch

    torch.manual_seed(seed)
    return factory()


def _cosine_lr(cfg: TrainConfig, epoch: int) -> float:
    if cfg.scheduler == "none":
        return cfg.lr
    if cfg.scheduler == "cosine":
        return cfg.lr * (1 + math.cos(math.pi * epoch / max(1, cfg.epochs))) / 2
    if cfg.scheduler == "exponential":
        return cfg.lr * cfg.gamma ** epoch
    raise ValueError(f"unknown scheduler {cfg.scheduler!r}")


def fit_folds(make_model: Callable[[], object], inputs: Sequence[np.ndarray], labels: np.ndarray,
              train_masks: np.ndarray, cfg: TrainConfig, rngs: Sequence[np.random.Generator], device: str,
              n_classes: int, seed: int, progress: Callable[..., None] | None = None,
              init_seeds: Sequence[int] | None = None, input_scales: Sequence[float] | None = None) -> StackedFolds:
    """Train one model per row of `train_masks` (F, N) on the masked samples, all folds in one vmapped step.

    init_seeds: per fold, the seed its initial weights are built with (default: `seed` for all);
    input_scales: per fold, a divisor applied to inputs[0] (a normalisation fit() computes on the fold's data).
    """
    import torch
    from torch.func import functional_call, grad, stack_module_state, vmap

    if cfg.early_stopping or cfg.label_smoothing:
        raise ValueError("fold-batched training supports fixed epochs without label smoothing")
    if cfg.optimizer not in ("adamw", "adam"):
        raise ValueError("fold-batched training implements AdamW and Adam")
    masks = np.asarray(train_masks, dtype=bool)
    n_folds, n = masks.shape
    labels = np.asarray(labels, dtype=np.int64)
    seeds = list(init_seeds) if init_seeds is not None else [seed] * n_folds
    models = [build_model(make_model, s) for s in seeds]
    for m in models:
        m.to(device)
        m.train()
    params, buffers = stack_module_state(models)
    params = {k: v.detach().clone() for k, v in params.items()}
    base = models[0]
    if any(len(b.shape) and b.shape[0] for b in buffers.values()) and any(
            type(mod).__name__.startswith("BatchNorm") for mod in base.modules()):
        raise ValueError("fold-batched training does not support BatchNorm (running statistics per fold)")
    tensors = [torch.as_tensor(x).to(device) for x in inputs]
    y = torch.as_tensor(labels).to(device)
    train_idx = [np.flatnonzero(masks[f]) for f in range(n_folds)]
    if cfg.class_weighting == "balanced":
        w = np.stack([class_weights(labels[idx], n_classes) for idx in train_idx])
    else:
        w = np.ones((n_folds, n_classes))
    weights = torch.as_tensor(w, dtype=torch.float32, device=device)

    scales = torch.as_tensor(np.asarray(input_scales if input_scales is not None else np.ones(n_folds),
                                        dtype=np.float32), device=device)

    def fold_loss(p, b, batch, target, sample_mask, class_w, scale):
        batch = [batch[0] / scale, *batch[1:]]
        logits = functional_call(base, (p, b), tuple(batch))
        nll = torch.nn.functional.cross_entropy(logits.float(), target, reduction="none")
        sw = class_w[target] * sample_mask
        return (sw * nll).sum() / sw.sum().clamp_min(1e-12)

    grad_fn = vmap(grad(fold_loss), in_dims=(0, 0, 0, 0, 0, 0, 0), randomness="different")
    exp_avg = {k: torch.zeros_like(v) for k, v in params.items()}
    exp_avg_sq = {k: torch.zeros_like(v) for k, v in params.items()}
    steps = torch.zeros(n_folds, device=device)
    b1, b2, eps = 0.9, 0.999, 1e-8

    def view(vec: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return vec.view(-1, *([1] * (like.dim() - 1)))

    for epoch in range(cfg.epochs):
        lr = _cosine_lr(cfg, epoch)
        orders = [train_idx[f][rngs[f].permutation(len(train_idx[f]))] for f in range(n_folds)]
        n_steps = max(math.ceil(len(o) / cfg.batch_size) for o in orders)
        for s in range(n_steps):
            idx = np.zeros((n_folds, cfg.batch_size), dtype=np.int64)
            smask = np.zeros((n_folds, cfg.batch_size), dtype=np.float32)
            for f, order in enumerate(orders):
                chunk = order[s * cfg.batch_size:(s + 1) * cfg.batch_size]
                idx[f, :len(chunk)] = chunk
                smask[f, :len(chunk)] = 1.0
            active = torch.as_tensor(smask.any(axis=1), device=device)
            it = torch.as_tensor(idx, device=device)
            batch = [t[it] for t in tensors]
            grads = grad_fn(params, buffers, batch, y[it], torch.as_tensor(smask, device=device), weights, scales)
            if cfg.grad_clip:
                norms = torch.sqrt(sum((g.reshape(n_folds, -1).float() ** 2).sum(1) for g in grads.values()))
                coef = torch.clamp(cfg.grad_clip / (norms + 1e-6), max=1.0)
                grads = {k: g * view(coef, g) for k, g in grads.items()}
            act = active.float()
            steps = steps + act
            bc1 = 1 - b1 ** steps.clamp_min(1)
            bc2 = 1 - b2 ** steps.clamp_min(1)
            with torch.no_grad():
                for k, p in params.items():
                    a = view(act, p)
                    g = grads[k]
                    if cfg.optimizer == "adam" and cfg.weight_decay:
                        g = g + cfg.weight_decay * p
                    m_new = b1 * exp_avg[k] + (1 - b1) * g
                    v_new = b2 * exp_avg_sq[k] + (1 - b2) * g * g
                    exp_avg[k] = torch.where(a > 0, m_new, exp_avg[k])
                    exp_avg_sq[k] = torch.where(a > 0, v_new, exp_avg_sq[k])
                    decayed = p * (1 - lr * cfg.weight_decay) if cfg.optimizer == "adamw" else p
                    denom = exp_avg_sq[k].sqrt() / view(bc2.sqrt(), p) + eps
                    updated = decayed - view(lr / bc1, p) * exp_avg[k] / denom
                    params[k] = torch.where(a > 0, updated, p)
        if progress is not None:
            progress(epoch=epoch + 1, total=cfg.epochs)
    return StackedFolds(base, params, buffers, n_folds,
                        None if input_scales is None else np.asarray(input_scales, dtype=np.float32))
