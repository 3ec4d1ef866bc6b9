"""The temporal feature analysis network of He et al. (Front. Comput. Sci. 2025), as a torch module.

Input: a batch of region-motion sequences `x` (B, T, R, 2) -- per frame, each AU region's robust mean flow from
the onset frame, minus the global motion -- and `valid` (B, T) bool, True on real steps, False on padding.

    frame t:  region r -> v[t, r] = x[t, r] @ W_r + b_r           (a linear map per region: R x (2 -> dim))
              a[t, :]   = softmax_r(score(v[t, :]))                (our reading of "adaptive attention" over regions)
              token[t]  = LN(R * sum_r a[t, r] v[t, r])
    sequence: [CLS, token_1..token_T] + learnable position embedding
              -> 5 pre-LN transformer layers, padded steps masked out of every attention (as keys)
              -> readout: the CLS output (the MEGC2024 code's readout; default), attention pooling over the
                 valid step outputs (our reading of "adaptive attention over time"), or both -> Linear -> logits

Why this shape: with uniform region weights (a = 1/R) the token is exactly the MEGC2024 code's embedding
`LayerNorm(Linear(R*2 -> dim))` of the flattened regions (sum of per-region linear maps), so switching the
region attention off (`region_attention=False`) gives the public code's embedding, and the ablation measures
the attention alone. Attention blocks follow that code's `Transformer_rois` (pre-LN, QKV without bias,
`heads x dim_head` inner width that may exceed `dim`, GELU MLP, final LN), plus the padding mask the public code
lacks: a padded step never serves as a key, and the readouts ignore padded queries, so the logits of a sequence
do not depend on how much padding follows it.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class RegionAttentionPool(nn.Module):
    """Per frame, a learned softmax weighting of the regions' embedded motions -> one token."""

    def __init__(self, n_regions: int, dim: int, attention: bool = True, hidden: int | None = None):
        super().__init__()
        self.n_regions = n_regions
        self.attention = attention
        self.weight = nn.Parameter(torch.empty(n_regions, 2, dim))
        self.bias = nn.Parameter(torch.zeros(n_regions, dim))
        nn.init.kaiming_uniform_(self.weight.view(n_regions * 2, dim).T, a=math.sqrt(5))  # as Linear(R*2 -> dim)
        hidden = hidden or dim
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1)) if attention else None
        self.norm = nn.LayerNorm(dim)

    def weights(self, v: torch.Tensor) -> torch.Tensor:
        """(B, T, R) region weights, summing to 1 per frame (uniform without attention)."""
        if self.score is None:
            return v.new_full(v.shape[:-1], 1.0 / self.n_regions)
        return torch.softmax(self.score(v).squeeze(-1).float(), dim=-1).to(v.dtype)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v = torch.einsum("btri,rid->btrd", x, self.weight) + self.bias      # (B, T, R, dim)
        a = self.weights(v)
        token = self.n_regions * torch.einsum("btr,btrd->btd", a, v)
        return self.norm(token), a


class Attention(nn.Module):
    """Multi-head self-attention with an inner width heads x dim_head (MEGC2024 code: 8 x 64 over dim 64)."""

    def __init__(self, dim: int, heads: int, dim_head: int, dropout: float = 0.0):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.norm = nn.LayerNorm(dim)
        self.to_qkv = nn.Linear(dim, 3 * inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout))
        self.dropout = dropout
        # Softmax(QK^T/sqrt(d))V written out: the same function as the fused kernel, but torch.func.vmap has a
        # batching rule for each of its ops and none for the fused CPU kernel (fold-batched training sets this).
        self.explicit = False

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = self.to_qkv(self.norm(x)).chunk(3, dim=-1)
        q, k, v = (t.view(b, n, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        # key_mask (B, N) True = may be attended; broadcast over heads and queries
        mask = key_mask[:, None, None, :]
        p_drop = self.dropout if self.training else 0.0
        if self.explicit:
            attn = (q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5).masked_fill(~mask, float("-inf")).softmax(-1)
            out = F.dropout(attn, p_drop, self.training) @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p_drop)
        return self.to_out(out.transpose(1, 2).reshape(b, n, -1))


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TemporalAttentionPool(nn.Module):
    """Softmax over the valid time steps of a learned score -> weighted mean of the step outputs."""

    def __init__(self, dim: int):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(dim, dim), nn.Tanh(), nn.Linear(dim, 1))

    def forward(self, h: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.score(h).squeeze(-1).float().masked_fill(~valid, float("-inf"))
        w = torch.softmax(s, dim=-1)
        return torch.einsum("bt,btd->bd", w.to(h.dtype), h), w


READOUTS = ("cls", "attention", "both")


class FullSequenceTransformer(nn.Module):
    """Region attention per frame -> tokens -> CLS + position embedding -> masked pre-LN transformer -> logits."""

    def __init__(self, n_regions: int, n_classes: int, max_len: int, dim: int = 64, depth: int = 5, heads: int = 8,
                 dim_head: int = 64, mlp_dim: int = 64, dropout: float = 0.0, emb_dropout: float = 0.0,
                 region_attention: bool = True, readout: str = "cls"):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        self.max_len = max_len
        self.readout = readout
        self.regions = RegionAttentionPool(n_regions, dim, attention=region_attention)
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, max_len + 1, dim) * 0.02)
        self.emb_dropout = nn.Dropout(emb_dropout)
        self.layers = nn.ModuleList(
            nn.ModuleList([Attention(dim, heads, dim_head, dropout), FeedForward(dim, mlp_dim, dropout)])
            for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.pool = TemporalAttentionPool(dim) if readout in ("attention", "both") else None
        self.head = nn.Linear(dim * (2 if readout == "both" else 1), n_classes)

    def encode(self, x: torch.Tensor, valid: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every intermediate a caller may want to inspect (region and temporal weights, step outputs)."""
        b, t = x.shape[:2]
        if t > self.max_len:
            raise ValueError(f"sequence of {t} steps exceeds max_len {self.max_len}")
        valid = valid.bool()
        tokens, region_w = self.regions(x.to(self.cls.dtype))
        h = torch.cat([self.cls.expand(b, -1, -1), tokens], dim=1) + self.pos[:, :t + 1]
        h = self.emb_dropout(h)
        keys = torch.cat([valid.new_ones(b, 1), valid], dim=1)
        for attn, ff in self.layers:
            h = h + attn(h, keys)
            h = h + ff(h)
        h = self.norm(h)
        out = {"cls": h[:, 0], "steps": h[:, 1:], "region_weights": region_w}
        feats = []
        if self.readout in ("cls", "both"):
            feats.append(out["cls"])
        if self.pool is not None:
            pooled, time_w = self.pool(out["steps"], valid)
            out["time_weights"] = time_w
            feats.append(pooled)
        out["feature"] = torch.cat(feats, dim=-1)
        return out

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(x, valid)["feature"])

    def use_explicit_attention(self) -> "FullSequenceTransformer":
        """Attention as explicit matrix products (for torch.func.vmap: fold-batched training)."""
        for module in self.modules():
            if isinstance(module, Attention):
                module.explicit = True
        return self
