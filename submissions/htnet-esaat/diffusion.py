"""Diffusion-model data augmentation (Zhang et al., Sci Rep 2025, "Diffusion model-based data augmentation").

The paper: a cosine noise schedule β_t; forward noising (eq. 8)  x_t = √α_t x_0 + √(1−α_t) ε,  with
α_t = Π_{i≤t}(1−β_i) (DDPM's ᾱ_t); a denoiser f_θ trained to predict the noise with an MSE loss (eq. 9); and the
reverse update (eq. 10)  x_{t−1} = (x_t − β_t f_θ(x_t, t)) / √(1−β_t) + σ_t z.  The model type, T, sizes and
sample counts are not given; the choices here are documented in the bundle README.

- Schedule: Nichol & Dhariwal (2021) cosine, s = 0.008, β clipped at 0.999.
- Denoiser: a small two-resolution U-Net (the paper's example, "a diffusion model with a U-Net architecture"),
  class-conditional (label embedding added to the time embedding) so one model serves every minority class.
- Reverse update: eq. 10 as printed drops DDPM's 1/√(1−ᾱ_t) on the noise term (Ho et al. 2020, eq. 11); with a
  noise-predicting f_θ the printed form under-removes noise at small t. `update="ddpm"` (default) uses Ho et
  al.'s coefficient β_t/√(1−ᾱ_t); `update="paper"` is eq. 10 exactly as printed. σ_t² is the posterior
  variance β̃_t = β_t(1−ᾱ_{t−1})/(1−ᾱ_t) (Ho et al.'s lower bound choice), with no noise on the last step.

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

UPDATES = ("ddpm", "paper")


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
    """

    def __init__(self, n_classes: int, channels: int = 3, width: int = 32, emb_dim: int = 64, patch: int = 1):
        super().__init__()
        self.emb_dim = emb_dim
        self.time = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label = nn.Embedding(n_classes, emb_dim)
        cells = channels * patch * patch
        self.unshuffle, self.shuffle = nn.PixelUnshuffle(patch), nn.PixelShuffle(patch)
        self.inp = nn.Conv2d(cells, width, 3, padding=1)
        self.down1 = ResBlock(width, width, emb_dim)
        self.downsample = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.mid = ResBlock(2 * width, 2 * width, emb_dim)
        self.up1 = ResBlock(3 * width, width, emb_dim)
        self.out = nn.Sequential(nn.GroupNorm(min(8, width), width), nn.SiLU(), nn.Conv2d(width, cells, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        emb = self.time(timestep_embedding(t, self.emb_dim)) + self.label(y)
        h1 = self.down1(self.inp(self.unshuffle(x)), emb)
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
    update: str = "ddpm"         # reverse update: "ddpm" (Ho et al.) or "paper" (eq. 10 as printed)

    def __post_init__(self) -> None:
        if self.update not in UPDATES:
            raise ValueError(f"diffusion update must be one of {UPDATES}, got {self.update!r}")


def loss_eq9(model: Denoiser, x0: torch.Tensor, y: torch.Tensor, schedule: Schedule,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Eq. 9: E ||ε − f_θ(x_t, t)||² with t uniform in 1..T and ε ~ N(0, I)."""
    t = torch.randint(1, schedule.T + 1, (len(x0),), generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    return F.mse_loss(model(q_sample(x0, t, noise, schedule), t, y), noise)


def train_denoiser(x: np.ndarray, y: np.ndarray, n_classes: int, cfg: DiffusionConfig, seed: int,
                   device: str = "cpu") -> tuple[Denoiser, Schedule]:
    """Fit f_θ on the given (training) inputs with eq. 9; Adam, fixed number of steps."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = Denoiser(n_classes, channels=x.shape[1], width=cfg.width, patch=cfg.patch).to(device)
    schedule = cosine_schedule(cfg.T)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.int64)
    model.train()
    for _ in range(cfg.train_steps):
        idx = torch.randint(0, len(xt), (min(cfg.batch_size, len(xt)),), generator=gen)
        loss = loss_eq9(model, xt[idx].to(device), yt[idx].to(device), schedule, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model, schedule


def reverse_step(x_t: torch.Tensor, eps: torch.Tensor, t: int, schedule: Schedule, z: torch.Tensor,
                 update: str = "ddpm") -> torch.Tensor:
    """One step of eq. 10 from step t (1-based) to t−1."""
    beta = schedule.betas[t - 1].item()
    abar = schedule.alpha_bar[t - 1].item()
    abar_prev = schedule.alpha_bar[t - 2].item() if t > 1 else 1.0
    coef = beta / math.sqrt(1 - abar) if update == "ddpm" else beta
    mean = (x_t - coef * eps) / math.sqrt(1 - beta)
    if t == 1:
        return mean
    sigma = math.sqrt(beta * (1 - abar_prev) / (1 - abar))
    return mean + sigma * z


@torch.no_grad()
def sample(model: Denoiser, labels: np.ndarray, shape: tuple[int, ...], schedule: Schedule, seed: int,
           update: str = "ddpm", device: str = "cpu", batch_size: int = 256) -> np.ndarray:
    """Draw one sample per label by running eq. 10 from x_T ~ N(0, I) down to x_0."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    out = []
    labels = np.asarray(labels, dtype=np.int64)
    for i in range(0, len(labels), batch_size):
        y = torch.as_tensor(labels[i:i + batch_size]).to(device)
        x = torch.randn((len(y), *shape), generator=gen).to(device)
        for t in range(schedule.T, 0, -1):
            eps = model(x, torch.full((len(y),), t, device=device, dtype=torch.int64), y)
            x = reverse_step(x, eps, t, schedule, torch.randn(x.shape, generator=gen).to(device), update)
        out.append(x.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, *shape), dtype=np.float32)


def generation_counts(class_counts: np.ndarray, max_ratio: float) -> np.ndarray:
    """Samples to generate per class: up to the majority count, at most max_ratio × the class's own count.

    The majority class and classes absent from training get none (there is nothing to condition on).
    """
    counts = np.asarray(class_counts, dtype=np.int64)
    gap = counts.max() - counts
    return np.where(counts > 0, np.minimum(gap, np.floor(max_ratio * counts).astype(np.int64)), 0)


def augment(train_x: np.ndarray, train_y: np.ndarray, n_classes: int, cfg: DiffusionConfig, seed: int,
            device: str = "cpu") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train the denoiser on the training inputs, then generate minority-class samples.

    Returns (generated inputs, their labels, count generated per class). Generated values are clipped to the
    per-channel range of the training inputs (a sampler excursion must not create flows no face produced).
    """
    counts = generation_counts(np.bincount(train_y, minlength=n_classes), cfg.max_ratio)
    if counts.sum() == 0 or len(train_x) < 2:
        return train_x[:0], train_y[:0], np.zeros(n_classes, dtype=np.int64)
    model, schedule = train_denoiser(train_x, train_y, n_classes, cfg, seed, device)
    labels = np.repeat(np.arange(n_classes), counts)
    gen = sample(model, labels, tuple(train_x.shape[1:]), schedule, seed + 1, cfg.update, device)
    lo = train_x.min(axis=(0, 2, 3), keepdims=True)
    hi = train_x.max(axis=(0, 2, 3), keepdims=True)
    return np.clip(gen, lo, hi).astype(np.float32), labels, counts
