"""Entropy-based selection of attention layers (the "ES" of ESAAT, Zhang et al., Sci Rep 2025).

The Sci Rep methods section: "Compute the transfer entropy between each attention layer and the output layer to
determine the importance of each layer. Remove attention layers with low transfer entropy, as they contribute
less to the final output." It gives no formula; the criterion and the wording come from NOSE in Lin et al.,
"MLP Can Be A Good Transformer Learner" (CVPR 2024, code sihaoevery/lambda_vit), which we follow:

- Entropy of a representation: the Gaussian proxy H(X) = Σ_d log σ_d, the per-dimension standard deviation over
  samples (lambda_vit `models_shrink.py` prints `np.log(np.std(features, axis=0)).sum()` of the last block's
  output). For a Gaussian, differential entropy is Σ_d log σ_d plus a constant, so differences are exact there.
- Transfer entropy of attention layer ℓ to the output: TE_ℓ = |H(out) − H(out | ℓ removed)|, the change in the
  output representation's entropy when ℓ's attention becomes the identity. A layer whose removal leaves the
  output's information unchanged transfers little to it.
- Selection is greedy, as NOSE's iterative search: remove the lowest-TE layer, rescore the rest with it gone,
  repeat until the requested number is removed.
- "Output layer" = the pooled representation the linear head reads (`HTNet.features`).

Integrity: the scores are computed on the arrays the caller passes, and the bundle passes only the fold's real
training inputs (never generated samples, never test inputs; `predict` never calls this module).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


def gaussian_entropy(features: torch.Tensor, eps: float = 1e-8) -> float:
    """Σ_d log σ_d over the sample axis of an (N, D) matrix (Gaussian entropy up to a constant)."""
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need an (N >= 2, D) feature matrix, got {tuple(features.shape)}")
    std = features.double().std(dim=0, unbiased=False)
    return float(torch.log(std + eps).sum())


@torch.no_grad()
def output_entropy(model, inputs: np.ndarray, device: str = "cpu", batch_size: int = 256) -> float:
    """Entropy of `model.features` over the given inputs (eval mode)."""
    was_training = model.training
    model.eval()
    x = torch.as_tensor(inputs, dtype=torch.float32)
    feats = torch.cat([model.features(x[i:i + batch_size].to(device)).float().cpu()
                       for i in range(0, len(x), batch_size)])
    model.train(was_training)
    return gaussian_entropy(feats)


def transfer_entropy_scores(model, inputs: np.ndarray, device: str = "cpu") -> dict[int, float]:
    """TE_ℓ for every block index ℓ (position in `model.blocks()`) whose attention is present and not skipped."""
    blocks = list(model.blocks())
    base = output_entropy(model, inputs, device)
    scores = {}
    for i, block in enumerate(blocks):
        if not block.has_attention or block.skip_attention:
            continue
        block.skip_attention = True
        try:
            scores[i] = abs(base - output_entropy(model, inputs, device))
        finally:
            block.skip_attention = False
    return scores


def n_to_remove(n_layers: int, ratio: float) -> int:
    """round(ratio · n), keeping at least one attention layer."""
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"removal ratio must be in [0, 1), got {ratio}")
    return int(min(max(n_layers - 1, 0), round(ratio * n_layers)))


@dataclass
class Selection:
    removed: list[int] = field(default_factory=list)         # block indices, in removal order
    scores: list[dict[int, float]] = field(default_factory=list)  # TE of the candidates at each greedy step


def select_attention_layers(model, train_inputs: np.ndarray, n_remove: int, device: str = "cpu") -> Selection:
    """Greedy NOSE-style choice of `n_remove` attention layers with the lowest transfer entropy.

    Leaves the model as it found it (layers are only skipped while scoring); apply the choice with
    `remove_attention_layers`.
    """
    blocks = list(model.blocks())
    sel = Selection()
    try:
        for _ in range(n_remove):
            scores = transfer_entropy_scores(model, train_inputs, device)
            if not scores:
                break
            worst = min(scores, key=lambda i: (scores[i], i))
            sel.scores.append(scores)
            sel.removed.append(worst)
            blocks[worst].skip_attention = True
    finally:
        for b in blocks:
            b.skip_attention = False
    return sel


def remove_attention_layers(model, indices: list[int]) -> None:
    """Delete the attention branch (and its parameters) of the given blocks: x + Attn(LN(x)) becomes x."""
    blocks = list(model.blocks())
    for i in indices:
        blocks[i].remove_attention()
