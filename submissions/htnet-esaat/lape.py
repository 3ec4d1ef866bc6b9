"""LAPE: learnable absolute position embedding (Zhang et al., Sci Rep 2025, eq. 6).

    LAPE(x_i) = x_i + PE(p_i)

"For each image patch, a unique position embedding is learned" and "added to the patch embeddings": one
learnable `dim`-vector per patch position of the patch-embedding map, optimised with the rest of the network.

Why it matters here: HTNet's own position embedding is one learnable *scalar* per position inside a block,
shared by all channels and all blocks (Model.py `Transformer.pos_emb`), so the four facial regions — which the
model processes as separate blocks with shared weights — cannot tell which region they are. A per-patch vector
over the whole mosaic gives every patch (and so every region) its own identity.

Initialisation (the paper is silent): truncated normal, std 0.02, the ViT/DeiT convention.
"""
from __future__ import annotations

import torch
from torch import nn


class LearnableAbsolutePositionEmbedding(nn.Module):
    """Adds a learned (dim,) vector to each of the (height, width) patch embeddings of a channel-first map."""

    def __init__(self, dim: int, height: int, width: int, std: float = 0.02):
        super().__init__()
        self.pe = nn.Parameter(torch.zeros(1, dim, height, width))
        nn.init.trunc_normal_(self.pe, std=std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:] != self.pe.shape[1:]:
            raise ValueError(f"LAPE was built for patch maps {tuple(self.pe.shape[1:])}, got {tuple(x.shape[1:])}")
        return x + self.pe
