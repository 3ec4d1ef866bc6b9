"""Diffusion-model data augmentation (Zhang et al., Sci Rep 2025, "Diffusion model-based data augmentation").

The paper: a cosine noise schedule β_t; forward noising (eq. 8)  x_t = √α_t x_0 + √(1−α_t) ε,  with
α_t = Π_{i≤t}(1−β_i) (DDPM's ᾱ_t); a denoiser f_θ trained to predict the noise with an MSE loss (eq. 9); and the
reverse update (eq. 10)  x_{t−1} = (x_t − β_t f_θ(x_t, t)) / √(1−β_t) + σ_t z.  The model type, T, sizes and
sample counts are not given; the choices here are documented in the bundle README.

- Schedule: Nichol & Dhariwal (2021) cosine, s = 0.008, β clipped at 0.999.
- Denoiser: a small two-resolution U-Net (the paper's example, "a diffusion model with a U-Net architecture"),
  class-conditional (label embedding added to the time embedding) so one model serves every minority class.
- Reverse update (`update`):
  - "clipped_x0" (default): the DDPM posterior step through the predicted clean sample, clipped at every step.
    x̂_0 = (x_t − √(1−ᾱ_t) f_θ) / √ᾱ_t is clipped to the training inputs' per-channel range, and
    x_{t−1} = μ̃_t(x_t, x̂_0) + σ_t z with μ̃_t = √ᾱ_{t−1} β_t/(1−ᾱ_t) · x̂_0 + √α_t (1−ᾱ_{t−1})/(1−ᾱ_t) · x_t
    (Ho et al. 2020, eqs. 6–7 and 15; the clipping is their released sampler's `clip_denoised`, kept by Nichol &
    Dhariwal 2021, whose cosine schedule with β ≤ 0.999 relies on it).
  - "eps": Ho et al.'s eq. 11, x_{t−1} = (x_t − β_t/√(1−ᾱ_t) f_θ)/√(1−β_t) + σ_t z, with nothing clipped. The
    shipped sampler until this was found: with β_T = 0.999 the first step multiplies the denoiser's error by
    1/√(1−β_T) ≈ 31.6 and the samples saturate (kept to show that; `tests/systems/test_htnet_esaat.py`).
  - "paper": eq. 10 exactly as printed, which drops DDPM's 1/√(1−ᾱ_t) on the noise term (with a noise predictor
    it leaves noise in the sample; kept so the equation can be checked).
  σ_t² is the posterior variance β̃_t = β_t(1−ᾱ_{t−1})/(1−ᾱ_t) (Ho et al.'s lower-bound choice), with no noise
  on the last step.
- What the samples look like is measured (`sample_quality`) and recorded per fold by the bundle: the fraction
  at the clip limits, the distance to their own class's real samples against the other classes', and a linear
  probe's accuracy on them (a probe fitted on the real training inputs).

Integrity by construction: nothing here reads samples, files or the harness API; `augment` receives arrays and
labels and returns new arrays. The bundle calls it only inside `fit`, with the fold's training inputs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

UPDATES = ("clipped_x0", "eps", "paper")
TARGETS = ("eps", "x0")


@dataclass(frozen=True)
class Schedule:
    betas: torch.Tensor       # (T,) float64 β_t for t = 1..T at index t-1
    alpha_bar: torch.Tensor   # (T,) float64 α_t of eq. 8 = Π_{i≤t}(1−β_i)

    @property
    def T(self) -> int:
        return len(self.betas)


def cosine_schedule(T: int, s: float = 0.008, max_beta: float = 0.999) -> Schedule:
    """Nichol & Dhariwal's cosine schedule: ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2)."""
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    t = np.arange(T + 1, dtype=np.float64)
    f = np.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
    abar = f / f[0]
    betas = np.clip(1 - abar[1:] / abar[:-1], 0.0, max_beta)
    alpha_bar = np.cumprod(1 - betas)  # recomputed from the clipped betas so eq. 8's product holds exactly
    return Schedule(torch.as_tensor(betas, dtype=torch.float64), torch.as_tensor(alpha_bar, dtype=torch.float64))


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """Eq. 8: x_t = √α_t x_0 + √(1−α_t) ε, for integer steps t in 1..T (one per sample)."""
    abar = schedule.alpha_bar.to(x0.device)[t - 1].to(x0.dtype).reshape(-1, *([1] * (x0.ndim - 1)))
    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer sinusoidal embedding of the step number (Ho et al.)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int = 8):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(groups, c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(min(groups, c_out), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.emb(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class Denoiser(nn.Module):
    """f_θ(x_t, t, y): a two-resolution U-Net predicting the noise, conditioned on step and class.

    `patch` > 1 runs the U-Net on non-overlapping patch × patch cells folded into channels (pixel-unshuffle in,
    pixel-shuffle out, as DiT patchifies), which divides the cost by patch²: what makes CPU runs affordable.
    `width` must be at least the cells' channel count (channels · patch²): a narrower first layer cannot carry
    the noise it has to predict.
    `size` (the input side) adds a learned position embedding after the input layer (DiT adds one to its patch
    tokens): convolutions alone do not know where in the mosaic they are, and without it a class can only shift
    every position alike, not draw its motion in its own facial region (None: no embedding).
    """

    def __init__(self, n_classes: int, channels: int = 3, width: int = 32, emb_dim: int = 64, patch: int = 1,
                 size: int | None = None):
        super().__init__()
        cells = channels * patch * patch
        if width < cells:
            raise ValueError(f"diffusion width {width} is narrower than the {cells} channels of {patch}x{patch} "
                             f"cells of {channels} channels: raise diffusion_width or lower diffusion_patch")
        self.emb_dim = emb_dim
        self.time = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label = nn.Embedding(n_classes, emb_dim)
        self.unshuffle, self.shuffle = nn.PixelUnshuffle(patch), nn.PixelShuffle(patch)
        self.inp = nn.Conv2d(cells, width, 3, padding=1)
        self.pos = None
        if size is not None:
            if size % patch:
                raise ValueError(f"input side {size} is not a multiple of diffusion_patch {patch}")
            self.pos = nn.Parameter(torch.zeros(1, width, size // patch, size // patch))
            nn.init.trunc_normal_(self.pos, std=0.02)
        self.down1 = ResBlock(width, width, emb_dim)
        self.downsample = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.mid = ResBlock(2 * width, 2 * width, emb_dim)
        self.up1 = ResBlock(3 * width, width, emb_dim)
        self.out = nn.Sequential(nn.GroupNorm(min(8, width), width), nn.SiLU(), nn.Conv2d(width, cells, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        emb = self.time(timestep_embedding(t, self.emb_dim)) + self.label(y)
        h0 = self.inp(self.unshuffle(x))
        if self.pos is not None:
            h0 = h0 + self.pos
        h1 = self.down1(h0, emb)
        h2 = self.mid(self.downsample(h1), emb)
        up = F.interpolate(h2, size=h1.shape[-2:], mode="nearest")
        return self.shuffle(self.out(self.up1(torch.cat([up, h1], dim=1), emb)))


@dataclass(frozen=True)
class DiffusionConfig:
    T: int = 100                 # diffusion steps
    train_steps: int = 300       # optimiser steps of the denoiser
    batch_size: int = 32
    lr: float = 2e-3
    width: int = 32              # U-Net channels at full resolution
    patch: int = 1               # U-Net on patch × patch cells (1 = per pixel)
    max_ratio: float = 1.0       # generate at most max_ratio × a class's real count
    update: str = "clipped_x0"   # reverse update: "clipped_x0" (default), "eps" (eq. 11, unclipped), "paper"
    target: str = "eps"          # what f_θ predicts: "eps" (the noise, eq. 9) or "x0" (the clean sample)

    def __post_init__(self) -> None:
        if self.update not in UPDATES:
            raise ValueError(f"diffusion update must be one of {UPDATES}, got {self.update!r}")
        if self.target not in TARGETS:
            raise ValueError(f"diffusion target must be one of {TARGETS}, got {self.target!r}")
        if self.target == "x0" and self.update != "clipped_x0":
            raise ValueError("a clean-sample predictor (target x0) samples with update 'clipped_x0' only")


def loss_eq9(model: Denoiser, x0: torch.Tensor, y: torch.Tensor, schedule: Schedule,
             generator: torch.Generator | None = None, target: str = "eps") -> torch.Tensor:
    """Eq. 9: E ||ε − f_θ(x_t, t)||² with t uniform in 1..T and ε ~ N(0, I); with `target="x0"` the same MSE
    against the clean sample, E ||x_0 − f_θ(x_t, t)||² (the paper: f_θ predicts "either the noise or the clean
    image directly")."""
    t = torch.randint(1, schedule.T + 1, (len(x0),), generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    return F.mse_loss(model(q_sample(x0, t, noise, schedule), t, y), noise if target == "eps" else x0)


def train_denoiser(x: np.ndarray, y: np.ndarray, n_classes: int, cfg: DiffusionConfig, seed: int,
                   device: str = "cpu") -> tuple[Denoiser, Schedule]:
    """Fit f_θ on the given (training) inputs with eq. 9 (or its clean-sample form); Adam, fixed steps."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = Denoiser(n_classes, channels=x.shape[1], width=cfg.width, patch=cfg.patch,
                     size=x.shape[-1]).to(device)
    schedule = cosine_schedule(cfg.T)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.int64)
    model.train()
    for _ in range(cfg.train_steps):
        idx = torch.randint(0, len(xt), (min(cfg.batch_size, len(xt)),), generator=gen)
        loss = loss_eq9(model, xt[idx].to(device), yt[idx].to(device), schedule, gen, cfg.target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model, schedule


def predicted_x0(x_t: torch.Tensor, eps: torch.Tensor, t: int, schedule: Schedule) -> torch.Tensor:
    """Eq. 8 solved for x_0 given the predicted noise: x̂_0 = (x_t − √(1−ᾱ_t) ε̂) / √ᾱ_t."""
    abar = schedule.alpha_bar[t - 1].item()
    return (x_t - math.sqrt(1 - abar) * eps) / math.sqrt(abar)


def reverse_step(x_t: torch.Tensor, pred: torch.Tensor, t: int, schedule: Schedule, z: torch.Tensor,
                 update: str = "clipped_x0", clip: tuple[torch.Tensor, torch.Tensor] | None = None,
                 target: str = "eps") -> torch.Tensor:
    """One reverse step from step t (1-based) to t−1 (see the module docstring for the three forms).

    `pred` is f_θ's output: the noise (target "eps") or the clean sample (target "x0", "clipped_x0" only).
    `clip` = (low, high), broadcastable to x_t: the range x̂_0 is clipped to ("clipped_x0" only; None: no clip).
    """
    beta = schedule.betas[t - 1].item()
    abar = schedule.alpha_bar[t - 1].item()
    abar_prev = schedule.alpha_bar[t - 2].item() if t > 1 else 1.0
    if update == "clipped_x0":
        x0 = pred if target == "x0" else predicted_x0(x_t, pred, t, schedule)
        if clip is not None:
            x0 = torch.maximum(torch.minimum(x0, clip[1]), clip[0])
        mean = (math.sqrt(abar_prev) * beta / (1 - abar)) * x0 \
            + (math.sqrt(1 - beta) * (1 - abar_prev) / (1 - abar)) * x_t
    else:
        coef = beta / math.sqrt(1 - abar) if update == "eps" else beta
        mean = (x_t - coef * pred) / math.sqrt(1 - beta)
    if t == 1:
        return mean
    sigma = math.sqrt(beta * (1 - abar_prev) / (1 - abar))
    return mean + sigma * z


@torch.no_grad()
def sample(model: Denoiser, labels: np.ndarray, shape: tuple[int, ...], schedule: Schedule, seed: int,
           update: str = "clipped_x0", device: str = "cpu", batch_size: int = 256,
           clip: tuple[np.ndarray, np.ndarray] | None = None, target: str = "eps") -> np.ndarray:
    """Draw one sample per label by running the reverse process from x_T ~ N(0, I) down to x_0.

    `clip` = (low, high) arrays broadcastable to one batch (e.g. (1, C, 1, 1) per-channel ranges) for x̂_0.
    """
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    bounds = None if clip is None else tuple(torch.as_tensor(np.asarray(b), dtype=torch.float32).to(device)
                                             for b in clip)
    out = []
    labels = np.asarray(labels, dtype=np.int64)
    for i in range(0, len(labels), batch_size):
        y = torch.as_tensor(labels[i:i + batch_size]).to(device)
        x = torch.randn((len(y), *shape), generator=gen).to(device)
        for t in range(schedule.T, 0, -1):
            pred = model(x, torch.full((len(y),), t, device=device, dtype=torch.int64), y)
            x = reverse_step(x, pred, t, schedule, torch.randn(x.shape, generator=gen).to(device), update, bounds,
                             target)
        out.append(x.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, *shape), dtype=np.float32)


def generation_counts(class_counts: np.ndarray, max_ratio: float) -> np.ndarray:
    """Samples to generate per class: up to the majority count, at most max_ratio × the class's own count.

    The majority class and classes absent from training get none (there is nothing to condition on).
    """
    counts = np.asarray(class_counts, dtype=np.int64)
    gap = counts.max() - counts
    return np.where(counts > 0, np.minimum(gap, np.floor(max_ratio * counts).astype(np.int64)), 0)


def channel_range(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (min, max) of (N, C, H, W) inputs, shaped (1, C, 1, 1)."""
    return x.min(axis=(0, 2, 3), keepdims=True), x.max(axis=(0, 2, 3), keepdims=True)


def sample_quality(real_x: np.ndarray, real_y: np.ndarray, gen_x: np.ndarray, gen_y: np.ndarray,
                   n_classes: int) -> dict[str, float]:
    """What generated samples look like, measured against the real ones they were trained on.

    - `saturated`: fraction of generated values at or beyond the real inputs' per-channel range (noise that a
      final clip pins to the limits: the failure of the unclipped sampler);
    - `own_class_dist` / `other_class_dist`: mean Euclidean distance of a generated sample to the centroid of the
      real samples of its own class, and to the centroids of the other classes (own < other: it is of its class);
      `real_own_class_dist` is the first for the real samples themselves, for scale;
    - `probe_acc`: accuracy on the generated samples (against the class they were generated for) of a linear
      probe fitted on the real samples: the nearest class centroid, i.e. argmax_c μ_c·x − |μ_c|²/2, a linear
      classifier; `probe_chance` is the largest class share among the generated samples.
    """
    if len(gen_x) == 0:
        return {}
    lo, hi = channel_range(real_x)
    present = np.array([c for c in range(n_classes) if (real_y == c).any()])
    flat_r, flat_g = real_x.reshape(len(real_x), -1), gen_x.reshape(len(gen_x), -1)
    cent = np.stack([flat_r[real_y == c].mean(axis=0) for c in present])
    col = {int(c): i for i, c in enumerate(present)}

    def dist(flat: np.ndarray) -> np.ndarray:  # (N, classes present) distances to every centroid
        return np.sqrt(np.maximum((flat ** 2).sum(1)[:, None] - 2 * flat @ cent.T + (cent ** 2).sum(1)[None], 0))

    d_gen, d_real = dist(flat_g), dist(flat_r)
    own = d_gen[np.arange(len(gen_y)), [col[int(c)] for c in gen_y]]
    out = {"saturated": round(float(((gen_x <= lo) | (gen_x >= hi)).mean()), 4),
           "own_class_dist": round(float(own.mean()), 3),
           "real_own_class_dist": round(float(d_real[np.arange(len(real_y)), [col[int(c)] for c in real_y]].mean()), 3)}
    if len(present) > 1:  # the other classes' centroids, and a probe, need another class
        other = (d_gen.sum(axis=1) - own) / (len(present) - 1)
        out.update(other_class_dist=round(float(other.mean()), 3),
                   probe_acc=round(float((present[d_gen.argmin(axis=1)] == gen_y).mean()), 4),
                   probe_chance=round(float(np.bincount(gen_y).max() / len(gen_y)), 4))
    return out


def augment(train_x: np.ndarray, train_y: np.ndarray, n_classes: int, cfg: DiffusionConfig, seed: int,
            device: str = "cpu") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train the denoiser on the training inputs, then generate minority-class samples.

    Returns (generated inputs, their labels, count generated per class). The model works on the inputs scaled
    to zero mean and unit variance per channel (the scale the noise schedule assumes, as DDPM scales images to
    [−1, 1]), and the samples are mapped back. The sampler clips its predicted clean sample to the per-channel
    range of the training inputs at every step ("clipped_x0"); the samples are clipped to that range once more
    at the end (for "clipped_x0" the last step's x̂_0 is already inside it; for the unclipped forms this is
    what hides a blow-up, which `sample_quality` then reports as saturation).
    """
    counts = generation_counts(np.bincount(train_y, minlength=n_classes), cfg.max_ratio)
    if counts.sum() == 0 or len(train_x) < 2:
        return train_x[:0], train_y[:0], np.zeros(n_classes, dtype=np.int64)
    mu = train_x.mean(axis=(0, 2, 3), keepdims=True)
    sd = train_x.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    z = ((train_x - mu) / sd).astype(np.float32)
    model, schedule = train_denoiser(z, train_y, n_classes, cfg, seed, device)
    labels = np.repeat(np.arange(n_classes), counts)
    lo, hi = channel_range(z)
    gen = sample(model, labels, tuple(z.shape[1:]), schedule, seed + 1, cfg.update, device, clip=(lo, hi),
                 target=cfg.target)
    return (np.clip(gen, lo, hi) * sd + mu).astype(np.float32), labels, counts
