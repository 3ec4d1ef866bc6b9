"""Agent Attention (Han et al., ECCV 2024), as used by the ESAAT module of Zhang et al. (Sci Rep 2025, eq. 7).

Eq. 7 of the Sci Rep paper:  Att(Q, K, A, V) = Softmax(Q Aᵀ) · Softmax(A Kᵀ) · V,
with A a small set of n "agent" tokens: the agents first gather from all keys (n × N weights), then every query
reads from the agents (N × n weights), so the cost is O(N·n) instead of O(N²).

Han et al.'s full form (README figure and `agent_swin.py::AgentAttention`) adds a scale d^-1/2 on the left
operand of both products, two learned position biases (B1 agent→key, B2 query→agent) and a depthwise 3×3
convolution of V that restores the feature diversity a rank-n attention map loses:

    O = σ(Q·s Aᵀ + B2) · σ(A·s Kᵀ + B1) · V + DWC(V)

`form="han"` is that; `form="plain"` is eq. 7 literally (no scale, no biases, no DWC), kept so the paper's
equation can be checked and ablated. Agents are the queries average-pooled to a √n × √n grid (Han et al.).

Works on HTNet's channel-first maps (B, C, h, w): HTNet projects with 1×1 convolutions (no qkv bias), which is
a per-token linear layer, the same as Han's `nn.Linear`.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

FORMS = ("han", "plain")


def _trunc_normal(*shape: int) -> nn.Parameter:
    p = nn.Parameter(torch.zeros(*shape))
    nn.init.trunc_normal_(p, std=0.02)  # Han et al. initialise every bias with trunc_normal_(std=.02)
    return p


class AgentAttention(nn.Module):
    """Agent attention over an (h, w) window of tokens.

    dim: channels of the map; heads: attention heads (dim_head = dim // heads, as HTNet);
    window: side of the square token window every call sees (the biases B1/B2 are laid out on it);
    agent_num: n, a perfect square <= window² (Han et al. require a square: agents are a pooled grid);
    form: "han" (scale, biases, DWC) or "plain" (eq. 7); bias_grid: side of Han's low-resolution agent bias
    maps, bilinearly resized to the window (7 in Han et al.).
    """

    def __init__(self, dim: int, heads: int, window: int, agent_num: int = 4, form: str = "han",
                 bias_grid: int = 7):
        super().__init__()
        if form not in FORMS:
            raise ValueError(f"agent attention form must be one of {FORMS}, got {form!r}")
        side = math.isqrt(agent_num)
        if side * side != agent_num or not 1 <= agent_num <= window * window:
            raise ValueError(f"agent_num must be a perfect square in [1, {window * window}], got {agent_num}")
        self.heads, self.window, self.agent_num, self.form = heads, window, agent_num, form
        self.dim_head = dim // heads
        inner = self.dim_head * heads
        self.to_qkv = nn.Conv2d(dim, inner * 3, 1, bias=False)
        self.to_out = nn.Conv2d(inner, dim, 1)
        self.pool = nn.AdaptiveAvgPool2d((side, side))
        self.scale = self.dim_head ** -0.5 if form == "han" else 1.0
        if form == "han":
            n, h = agent_num, heads
            self.an_bias = _trunc_normal(h, n, bias_grid, bias_grid)   # B1 (agent -> key), spatial part
            self.na_bias = _trunc_normal(h, n, bias_grid, bias_grid)   # B2 (query -> agent), spatial part
            self.ah_bias = _trunc_normal(1, h, n, window, 1)           # B1 row / column parts
            self.aw_bias = _trunc_normal(1, h, n, 1, window)
            self.ha_bias = _trunc_normal(1, h, window, 1, n)           # B2 row / column parts
            self.wa_bias = _trunc_normal(1, h, 1, window, n)
            self.dwc = nn.Conv2d(inner, inner, 3, padding=1, groups=inner)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        """(B, h·d, x, y) -> (B, heads, x·y, d)."""
        b, _, x, y = t.shape
        return t.reshape(b, self.heads, self.dim_head, x * y).transpose(-1, -2)

    def biases(self) -> tuple[torch.Tensor, torch.Tensor]:
        """B1 (1, heads, n, N) and B2 (1, heads, N, n) for the window (Han et al.'s construction)."""
        w, n, h = self.window, self.agent_num, self.heads
        b1 = F.interpolate(self.an_bias, size=(w, w), mode="bilinear").reshape(1, h, n, w * w)
        b1 = b1 + (self.ah_bias + self.aw_bias).reshape(1, h, n, w * w)
        b2 = F.interpolate(self.na_bias, size=(w, w), mode="bilinear").reshape(1, h, n, w * w).transpose(-1, -2)
        b2 = b2 + (self.ha_bias + self.wa_bias).reshape(1, h, w * w, n)
        return b1, b2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, hh, ww = x.shape
        if (hh, ww) != (self.window, self.window):
            raise ValueError(f"agent attention was built for {self.window}x{self.window} windows, got {hh}x{ww}")
        qm, km, vm = self.to_qkv(x).chunk(3, dim=1)
        q, k, v = self._heads(qm), self._heads(km), self._heads(vm)
        a = self._heads(self.pool(qm))                                    # (B, heads, n, d): agents from Q
        key_logits = (a * self.scale) @ k.transpose(-1, -2)               # (B, heads, n, N)
        query_logits = (q * self.scale) @ a.transpose(-1, -2)             # (B, heads, N, n)
        if self.form == "han":
            b1, b2 = self.biases()
            key_logits, query_logits = key_logits + b1, query_logits + b2
        agent_v = key_logits.softmax(dim=-1) @ v                          # agents gather from all keys
        out = query_logits.softmax(dim=-1) @ agent_v                      # queries read from the agents
        out = out.transpose(-1, -2).reshape(b, self.heads * self.dim_head, hh, ww)
        if self.form == "han":
            out = out + self.dwc(vm)
        return self.to_out(out)


class SoftmaxAttention(nn.Module):
    """HTNet's multi-head self-attention (Model.py `Attention`): 1×1-conv qkv without bias, scale d^-1/2."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.dim_head = dim // heads
        inner = self.dim_head * heads
        self.scale = self.dim_head ** -0.5
        self.to_qkv = nn.Conv2d(dim, inner * 3, 1, bias=False)
        self.to_out = nn.Conv2d(inner, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, hh, ww = x.shape
        q, k, v = (t.reshape(b, self.heads, self.dim_head, hh * ww).transpose(-1, -2)
                   for t in self.to_qkv(x).chunk(3, dim=1))
        attn = ((q @ k.transpose(-1, -2)) * self.scale).softmax(dim=-1)
        out = (attn @ v).transpose(-1, -2).reshape(b, self.heads * self.dim_head, hh, ww)
        return self.to_out(out)
