"""One training loop for every neural bundle (FeatRef, the full-sequence transformer, HTNet+ESAAT).

Why shared: device choice, mixed precision, class weighting, seeded shuffling, epoch progress and early stopping
on an inner validation split must behave identically across systems, or a comparison measures loops, not models.

Early stopping only ever looks at a validation set the caller carved with `context.inner_split` (training
subjects); the loop has no access to the test fold.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"            # adamw | adam | sgd
    scheduler: str = "cosine"           # cosine | none | exponential
    gamma: float = 0.98                 # exponential decay per epoch
    class_weighting: str = "balanced"   # balanced | none  (loss weights n / (K * n_c))
    label_smoothing: float = 0.0
    grad_clip: float | None = 5.0
    early_stopping: bool = False        # needs validation data from context.inner_split
    patience: int = 10
    amp: bool = True                    # mixed precision on CUDA only (bf16 where supported)
    eval_batch_size: int = 256


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int | None = None


def count_parameters(model) -> int:
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def class_weights(labels: np.ndarray, k: int) -> np.ndarray:
    counts = np.bincount(labels, minlength=k).astype(float)
    w = np.where(counts > 0, counts.sum() / (k * np.maximum(counts, 1)), 0.0)
    return w / w[counts > 0].mean() if (counts > 0).any() else np.ones(k)


def _autocast(device: str, enabled: bool):
    import contextlib

    import torch

    if device == "cuda" and enabled:
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return contextlib.nullcontext()


def _optimizer(params, cfg: TrainConfig):
    import torch

    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, weight_decay=cfg.weight_decay, momentum=0.9)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r} (adamw, adam, sgd)")


def _scheduler(opt, cfg: TrainConfig):
    import torch

    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, cfg.epochs))
    if cfg.scheduler == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.gamma)
    if cfg.scheduler == "none":
        return None
    raise ValueError(f"unknown scheduler {cfg.scheduler!r} (cosine, exponential, none)")


def _batches(n: int, batch_size: int, rng: np.random.Generator | None):
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for i in range(0, n, batch_size):
        yield order[i:i + batch_size]


def fit(model, inputs: Sequence[np.ndarray], labels: np.ndarray, cfg: TrainConfig, context,
        val: tuple[Sequence[np.ndarray], np.ndarray] | None = None,
        loss_fn: Callable | None = None, n_classes: int | None = None) -> History:
    """Train `model(*batch_inputs) -> logits` with cross-entropy (class-weighted by default).

    `inputs` are arrays with the sample axis first (e.g. flows, sequences and their padding masks). `loss_fn`, if
    given, is called as loss_fn(model, batch_inputs, batch_labels, base_loss) and returns the loss (for auxiliary
    terms such as FeatRef's proposal loss). With `cfg.early_stopping` and `val`, the weights of the epoch with the
    lowest validation loss are restored at the end.
    """
    import torch

    device = context.device
    k = n_classes or len(context.classes)
    model.to(device)
    tensors = [torch.as_tensor(x) for x in inputs]
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    weight = None
    if cfg.class_weighting == "balanced":
        weight = torch.as_tensor(class_weights(np.asarray(labels), k), dtype=torch.float32, device=device)
    elif cfg.class_weighting != "none":
        raise ValueError(f"unknown class_weighting {cfg.class_weighting!r} (balanced, none)")
    criterion = torch.nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.label_smoothing)
    opt = _optimizer(model.parameters(), cfg)
    sched = _scheduler(opt, cfg)
    scaler = torch.amp.GradScaler("cuda", enabled=device == "cuda" and cfg.amp and not torch.cuda.is_bf16_supported()) \
        if device == "cuda" else None
    rng = context.rng(stream=101)
    history = History()
    best_state, best_val = None, math.inf
    since_best = 0
    for epoch in range(cfg.epochs):
        model.train()
        total, seen = 0.0, 0
        for idx in _batches(len(y), cfg.batch_size, rng):
            batch = [t[idx].to(device, non_blocking=True) for t in tensors]
            target = y[idx].to(device)
            opt.zero_grad(set_to_none=True)
            with _autocast(device, cfg.amp):
                logits = model(*batch)
                loss = criterion(logits.float(), target)
                if loss_fn is not None:
                    loss = loss_fn(model, batch, target, loss)
            if scaler is not None and scaler.is_enabled():
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
            else:
                loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            if scaler is not None and scaler.is_enabled():
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
        if sched is not None:
            sched.step()
        history.train_loss.append(total / max(seen, 1))
        info: dict[str, Any] = {"epoch": epoch + 1, "total": cfg.epochs, "loss": round(history.train_loss[-1], 4)}
        if val is not None:
            vloss = evaluate_loss(model, val[0], val[1], criterion, device, cfg)
            history.val_loss.append(vloss)
            info["val_loss"] = round(vloss, 4)
            if cfg.early_stopping:
                if vloss < best_val - 1e-6:
                    best_val, best_state, since_best = vloss, copy.deepcopy(model.state_dict()), 0
                    history.best_epoch = epoch + 1
                else:
                    since_best += 1
                    if since_best >= cfg.patience:
                        context.report_progress(**info)
                        break
        context.report_progress(**info)
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def evaluate_loss(model, inputs, labels, criterion, device: str, cfg: TrainConfig) -> float:
    import torch

    model.eval()
    total = 0.0
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    tensors = [torch.as_tensor(x) for x in inputs]
    with torch.no_grad(), _autocast(device, cfg.amp):
        for idx in _batches(len(y), cfg.eval_batch_size, None):
            logits = model(*[t[idx].to(device) for t in tensors])
            total += float(criterion(logits.float(), y[idx].to(device))) * len(idx)
    return total / max(len(y), 1)


def predict_proba(model, inputs: Sequence[np.ndarray], device: str, batch_size: int = 256, amp: bool = True) -> np.ndarray:
    """Softmax probabilities, (N, K), in input order."""
    import torch

    model.to(device)
    model.eval()
    tensors = [torch.as_tensor(x) for x in inputs]
    n = len(tensors[0])
    out = []
    with torch.no_grad(), _autocast(device, amp):
        for idx in _batches(n, batch_size, None):
            logits = model(*[t[idx].to(device) for t in tensors])
            out.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))
