"""HTNet (Wang et al., Neurocomputing 2024): a hierarchical transformer over the four facial-region mosaic.

Structure as in the authors' Model.py (a NesT-style hierarchy): patch embedding -> for each level, cut the map
into 2^level × 2^level blocks, run a transformer inside every block (all blocks share weights), then aggregate
(3×3 conv -> channel LayerNorm -> 3×3 max-pool, stride 2) -> channel LayerNorm, spatial mean, linear head.
Level widths double (dim, 2·dim, 4·dim) and so do the heads.

Why the sizes differ from the published 28 px / patch 7: that gives a 4×4 patch map, and 4×4 map cut into 4×4
blocks is one token per block — every attention call sees a single token, so attention (and any position
embedding inside a block) does nothing (shared/reference/methods.md §1.2). The input mosaic tiles the four
regions 2×2, so with a 16×16 patch map (image_size / patch_size = 16) and three levels:

    level 2: 16×16 map, 4×4 blocks of 4×4 tokens -> each block is one quadrant of one facial region (local)
    level 1:  8×8 map, 2×2 blocks of 4×4 tokens -> each block is exactly one facial region
    level 0:  4×4 map, 1 block of 4×4 tokens     -> all four regions together (aggregation across regions)

so every attention call sees 16 tokens, and the blocks line up with the regions. `tokens_per_attention`
exposes the count; the tests check it with forward hooks.
"""
from __future__ import annotations

from typing import Iterator

import torch
from torch import nn

from .agent_attention import AgentAttention, SoftmaxAttention
from .lape import LearnableAbsolutePositionEmbedding


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of a (B, C, H, W) map (HTNet's `LayerNorm`, eps 1e-5, learnable g, b)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1, dim, 1, 1))
        self.b = nn.Parameter(torch.zeros(1, dim, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var = torch.var(x, dim=1, unbiased=False, keepdim=True)
        mean = torch.mean(x, dim=1, keepdim=True)
        return (x - mean) / (var + self.eps).sqrt() * self.g + self.b


class FeedForward(nn.Sequential):
    """1×1-conv MLP with GELU (HTNet; dropout 0 in the published config, so none here)."""

    def __init__(self, dim: int, mult: int):
        super().__init__(nn.Conv2d(dim, dim * mult, 1), nn.GELU(), nn.Conv2d(dim * mult, dim, 1))


class Block(nn.Module):
    """Pre-norm residual block: x + Attn(LN(x)), then x + FF(LN(x)).

    ESAAT removes a block's attention by `remove_attention()`: the attention branch (and its norm) is deleted
    and the sub-layer becomes the identity x -> x, leaving an MLP-only block (Lin et al., CVPR 2024: attention
    "degenerated into identical mapping"). `skip_attention` does the same temporarily, for entropy scoring.
    """

    def __init__(self, dim: int, attn: nn.Module, mlp_mult: int):
        super().__init__()
        self.attn_norm: nn.Module | None = ChannelLayerNorm(dim)
        self.attn: nn.Module | None = attn
        self.ff_norm = ChannelLayerNorm(dim)
        self.ff = FeedForward(dim, mlp_mult)
        self.skip_attention = False

    @property
    def has_attention(self) -> bool:
        return self.attn is not None

    def remove_attention(self) -> None:
        self.attn, self.attn_norm = None, None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.attn is not None and not self.skip_attention:
            x = self.attn(self.attn_norm(x)) + x
        return self.ff(self.ff_norm(x)) + x


class Transformer(nn.Module):
    """One level's transformer: HTNet's scalar position embedding per in-block position, then the blocks."""

    def __init__(self, blocks: list[Block], seq_len: int):
        super().__init__()
        self.pos_emb = nn.Parameter(torch.randn(seq_len))  # HTNet: nn.Parameter(torch.randn(seq_len))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = x + self.pos_emb[: h * w].reshape(1, 1, h, w)
        for block in self.blocks:
            x = block(x)
        return x


def aggregate(dim: int, dim_out: int) -> nn.Sequential:
    """HTNet's between-level aggregation: 3×3 conv, channel LayerNorm, 3×3 max-pool with stride 2."""
    return nn.Sequential(nn.Conv2d(dim, dim_out, 3, padding=1), ChannelLayerNorm(dim_out),
                         nn.MaxPool2d(3, stride=2, padding=1))


def to_blocks(x: torch.Tensor, n: int) -> torch.Tensor:
    """(B, C, n·h, n·w) -> (B·n·n, C, h, w): the map cut into n × n blocks (HTNet's `(b1 h)(b2 w)` rearrange)."""
    b, c, hh, ww = x.shape
    h, w = hh // n, ww // n
    return x.reshape(b, c, n, h, n, w).permute(0, 2, 4, 1, 3, 5).reshape(b * n * n, c, h, w)


def from_blocks(x: torch.Tensor, n: int) -> torch.Tensor:
    """Inverse of `to_blocks`."""
    bnn, c, h, w = x.shape
    b = bnn // (n * n)
    return x.reshape(b, n, n, c, h, w).permute(0, 3, 1, 4, 2, 5).reshape(b, c, n * h, n * w)


class HTNet(nn.Module):
    """HTNet with the Sci Rep switches: `attention` ("softmax" | "agent"), `lape` (bool).

    image_size / patch_size: input side and patch side (the patch map side must be divisible by
    2^(num_hierarchies-1)); dim, heads: level-0 width and heads (doubled per level, as HTNet);
    block_repeats: transformer blocks per level, finest level first; agent_num / agent_form / bias_grid: see
    AgentAttention. The patch embedding is a patch_size-stride convolution, which is exactly HTNet's
    `Rearrange` to (p·p·c) channels followed by a 1×1 convolution (the same linear map of each patch).
    """

    def __init__(self, *, image_size: int, patch_size: int, num_classes: int, dim: int, heads: int,
                 num_hierarchies: int = 3, block_repeats: tuple[int, ...] = (2, 2, 10), mlp_mult: int = 4,
                 channels: int = 3, attention: str = "softmax", agent_num: int = 4, agent_form: str = "han",
                 bias_grid: int = 7, lape: bool = False):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} must be divisible by patch_size {patch_size}")
        fmap = image_size // patch_size
        n_blocks = 2 ** (num_hierarchies - 1)
        if fmap % n_blocks or fmap < n_blocks:
            raise ValueError(f"the {fmap}x{fmap} patch map cannot be cut into {n_blocks}x{n_blocks} blocks "
                             f"({num_hierarchies} hierarchies)")
        if attention not in ("softmax", "agent"):
            raise ValueError(f"attention must be 'softmax' or 'agent', got {attention!r}")
        if len(block_repeats) != num_hierarchies:
            raise ValueError(f"block_repeats needs {num_hierarchies} entries, got {tuple(block_repeats)}")
        self.window = fmap // n_blocks           # side of the token window every attention call sees
        self.fmap = fmap
        self.image_size, self.channels = image_size, channels
        mults = [2 ** i for i in range(num_hierarchies)]
        dims = [dim * m for m in mults]
        self.patch_embed = nn.Conv2d(channels, dims[0], patch_size, stride=patch_size)
        self.lape = LearnableAbsolutePositionEmbedding(dims[0], fmap, fmap) if lape else None
        self.levels = list(reversed(range(num_hierarchies)))
        self.transformers = nn.ModuleList()
        self.aggregates = nn.ModuleList()
        for i, level in enumerate(self.levels):
            d, h = dims[i], heads * mults[i]

            def make_attn(d=d, h=h) -> nn.Module:
                if attention == "agent":
                    return AgentAttention(d, h, self.window, agent_num=agent_num, form=agent_form,
                                          bias_grid=bias_grid)
                return SoftmaxAttention(d, h)

            blocks = [Block(d, make_attn(), mlp_mult) for _ in range(int(block_repeats[i]))]
            self.transformers.append(Transformer(blocks, self.window ** 2))
            self.aggregates.append(aggregate(d, dims[i + 1]) if level > 0 else nn.Identity())
        self.head_norm = ChannelLayerNorm(dims[-1])
        self.head = nn.Linear(dims[-1], num_classes)

    @property
    def tokens_per_attention(self) -> int:
        return self.window ** 2

    def blocks(self) -> Iterator[Block]:
        """Every transformer block, finest level first (the order entropy selection indexes them in)."""
        for t in self.transformers:
            yield from t.blocks

    def attention_blocks(self) -> list[Block]:
        return [b for b in self.blocks() if b.has_attention]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, S, S) mosaic -> (B, 4·dim) pooled representation (the input of the linear head)."""
        x = self.patch_embed(x)
        if self.lape is not None:
            x = self.lape(x)
        for level, transformer, agg in zip(self.levels, self.transformers, self.aggregates):
            n = 2 ** level
            x = from_blocks(transformer(to_blocks(x, n)), n)
            x = agg(x)
        return self.head_norm(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
