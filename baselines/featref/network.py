"""The FeatRef network (Zhou, Mao, Huang, Zhang & Zhang, Pattern Recognition 122:108275, 2022), in PyTorch.

Three parts, as the paper's abstract lays them out:
1. an inception module on optical flow -> expression-SHARED features (one inception stream per flow channel,
   as in the first author's Dual-Inception network, Zhou et al. FG 2019);
2. an expression proposal module: one branch per class, each with an attention factor (a sigmoid spatial map over
   the shared features) giving expression-SPECIFIC features, each trained by a binary "is it class k?" proposal
   head (the proposal loss, see `proposal_loss`);
3. a classification branch that fuses the K expression-specific features and predicts the class.
Layer widths, the attention form and the fusion are not in the sources we could reach; they are `FeatRefConfig`
fields, documented in the README.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

FUSIONS = ("concat", "sum")


@dataclass(frozen=True)
class FeatRefConfig:
    in_channels: int = 2      # u, v (+ strain when 3)
    size: int = 28            # input side, pixels
    width: int = 8            # channels of each inception branch in block 1 (block 2 doubles it)
    reduce: int = 32          # channels of the shared map that the attention branches see
    dim: int = 64             # length of each expression-specific feature
    fusion: str = "concat"    # concat | sum
    dropout: float = 0.5

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        if self.size % 4:
            raise ValueError(f"size must be a multiple of 4 (two 2x poolings), got {self.size}")
        for name in ("in_channels", "width", "reduce", "dim"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1")


def _conv(cin: int, cout: int, k: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class Inception(nn.Module):
    """GoogLeNet-style block: 1x1 | 1x1->3x3 | 1x1->5x5 | 3x3 max-pool->1x1, concatenated (4 * width channels),
    run on `streams` independent channel groups at once.

    Grouped convolutions make S streams one module: stream s sees only its own input channels and has its own
    weights, exactly as S separate blocks would, at a fraction of the per-operation overhead on a CPU. The output
    stays grouped by stream (stream s owns channels [s * 4 * width, (s + 1) * 4 * width)).
    """

    def __init__(self, cin: int, width: int, streams: int = 1):
        super().__init__()
        g, w = streams, width
        self.streams, self.width = g, w
        self.b1 = _conv(cin * g, w * g, 1, g)
        self.b3 = nn.Sequential(_conv(cin * g, w * g, 1, g), _conv(w * g, w * g, 3, g))
        self.b5 = nn.Sequential(_conv(cin * g, w * g, 1, g), _conv(w * g, w * g, 5, g))
        self.bp = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _conv(cin * g, w * g, 1, g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [self.b1(x), self.b3(x), self.b5(x), self.bp(x)]
        b, _, h, w = outs[0].shape
        # (B, branch, stream, width) -> (B, stream, branch, width): keep channels grouped by stream
        y = torch.stack([o.view(b, self.streams, self.width, h, w) for o in outs], dim=2)
        return y.reshape(b, self.streams * 4 * self.width, h, w)


class SharedModule(nn.Module):
    """Expression-shared features: per flow channel, inception -> 2x2 pool -> inception -> 2x2 pool.

    (B, C, S, S) -> (B, C * 8 * width, S/4, S/4); one independent stream per input channel.
    """

    def __init__(self, channels: int, width: int):
        super().__init__()
        self.net = nn.Sequential(Inception(1, width, channels), nn.MaxPool2d(2),
                                 Inception(4 * width, 2 * width, channels), nn.MaxPool2d(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ExpressionBranch(nn.Module):
    """One class's branch: attention factor over the shared map -> expression-specific feature -> proposal logit."""

    def __init__(self, channels: int, cells: int, dim: int):
        super().__init__()
        self.attention = nn.Sequential(nn.Conv2d(channels, channels // 2 or 1, 3, padding=1), nn.ReLU(inplace=True),
                                       nn.Conv2d(channels // 2 or 1, 1, 1), nn.Sigmoid())
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(channels * cells, dim), nn.ReLU(inplace=True))
        self.proposal = nn.Linear(dim, 1)

    def forward(self, shared: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a = self.attention(shared)                      # (B, 1, h, w) attention factor
        feature = self.embed(shared * a)                # (B, dim) expression-specific feature
        return feature, self.proposal(feature).squeeze(-1), a


class FeatRef(nn.Module):
    """(B, C, S, S) flow -> class logits. After each forward, `last_proposals` holds the (B, K) proposal logits
    and `last_attention` the (B, K, h, w) attention factors (for the proposal loss and for inspection)."""

    def __init__(self, n_classes: int, cfg: FeatRefConfig = FeatRefConfig()):
        super().__init__()
        self.cfg = cfg
        self.shared = SharedModule(cfg.in_channels, cfg.width)
        shared_channels = 8 * cfg.width * cfg.in_channels
        self.reduce = _conv(shared_channels, cfg.reduce, 1)
        cells = (cfg.size // 4) ** 2
        self.branches = nn.ModuleList([ExpressionBranch(cfg.reduce, cells, cfg.dim) for _ in range(n_classes)])
        fused = cfg.dim * n_classes if cfg.fusion == "concat" else cfg.dim
        self.classifier = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(fused, n_classes))
        self.last_proposals: torch.Tensor | None = None
        self.last_attention: torch.Tensor | None = None

    def shared_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.reduce(self.shared(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shared = self.shared_features(x)
        outs = [branch(shared) for branch in self.branches]
        features = [o[0] for o in outs]
        self.last_proposals = torch.stack([o[1] for o in outs], dim=1)
        self.last_attention = torch.cat([o[2] for o in outs], dim=1)
        fused = torch.cat(features, dim=1) if self.cfg.fusion == "concat" else torch.stack(features).sum(0)
        return self.classifier(fused)


def proposal_loss(proposals: torch.Tensor, target: torch.Tensor, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over classes of the binary cross-entropy of each branch's "is it class k?" logit (one-vs-rest).

    pos_weight (K,) re-weights the positives of each class (n_neg / n_pos on the training set), so that a branch
    for a rare class is not trained to always say no.
    """
    k = proposals.shape[1]
    onehot = torch.nn.functional.one_hot(target, k).to(proposals.dtype)
    return torch.nn.functional.binary_cross_entropy_with_logits(proposals.float(), onehot.float(), pos_weight=pos_weight)
