"""A training step of each neural bundle, side by side with the obvious alternative to a choice it makes.

- featref: the per-channel inception streams as one grouped-convolution module (ours) vs one module per stream
  (what the paper's figure draws); the two compute the same function.
- htnet-esaat: agent attention (ESAAT) vs HTNet's softmax attention, same backbone.
- fullseq-transformer: the full sequence (16 steps at 30 Hz) vs onset-apex only (2 steps): the cost of the
  paper's central claim.

Each step is one optimiser step (forward, class-weighted loss, backward, AdamW) on a batch of 32 inputs of the
shapes the quick profile feeds, on one CPU thread. Run with `make bench`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.bench
REPO = Path(__file__).resolve().parents[2]
BATCH = 32


def bundle_module(where: str, module: str):
    """Module `module` of the bundle at REPO/where (imported as the runner does), and its quick-profile config."""
    from harness.bundles.loader import import_module
    from harness.bundles.manifest import load_bundle

    bundle = load_bundle(REPO / where)
    return import_module(bundle, module), bundle.resolve_config("quick")[1]


def fullseq_factory(n_classes: int, steps: int):
    """A builder of System 1's network at the quick profile, with the model settings the system itself resolves
    (the bundle is loaded once, outside anything timed)."""
    system, config = bundle_module("submissions/fullseq-transformer", "system")
    model_mod, _ = bundle_module("submissions/fullseq-transformer", "model")
    features, _ = bundle_module("submissions/fullseq-transformer", "features")
    model_cfg = system.FullSeqTransformer(**config).model_cfg
    return lambda: model_mod.FullSequenceTransformer(n_regions=features.n_regions(), n_classes=n_classes,
                                                     max_len=steps, **model_cfg)


def training_step(model, inputs, labels, extra_loss=None):
    """A closure doing one optimiser step, as harness.kit.nn.training.fit does per batch."""
    import torch

    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    criterion = torch.nn.CrossEntropyLoss()
    model.train()

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = criterion(model(*inputs), labels)
        if extra_loss is not None:
            loss = loss + extra_loss(model, labels)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


def run_step(benchmark, step) -> None:
    import torch

    torch.set_num_threads(1)
    step()  # warm-up: allocations, lazy initialisation
    losses = benchmark.pedantic(step, rounds=10, iterations=3, warmup_rounds=1)
    assert np.isfinite(losses)


def _labels(k: int):
    import torch

    return torch.as_tensor(np.arange(BATCH) % k, dtype=torch.int64)


# --- FeatRef -----------------------------------------------------------------------------------------------------
def _separate_streams(network, channels: int, width: int):
    """The alternative: one inception -> pool -> inception -> pool module per flow channel, outputs concatenated."""
    import torch
    from torch import nn

    class SeparateStreams(nn.Module):
        def __init__(self):
            super().__init__()
            self.streams = nn.ModuleList(
                nn.Sequential(network.Inception(1, width), nn.MaxPool2d(2), network.Inception(4 * width, 2 * width),
                              nn.MaxPool2d(2)) for _ in range(channels))

        def forward(self, x):
            return torch.cat([s(x[:, i:i + 1]) for i, s in enumerate(self.streams)], dim=1)

    return SeparateStreams()


@pytest.mark.benchmark(group="training step: featref (quick, batch 32, 1 thread)")
@pytest.mark.parametrize("shared", ["grouped streams (ours)", "one module per stream"])
def test_featref_step(benchmark, shared):
    import torch

    network, config = bundle_module("baselines/featref", "network")
    k, channels = 7, 2
    cfg = network.FeatRefConfig(in_channels=channels, size=config["size"], width=config["width"],
                                reduce=config["reduce"], dim=config["dim"], fusion=config["fusion"])
    torch.manual_seed(0)
    model = network.FeatRef(k, cfg)
    if shared == "one module per stream":
        alternative = _separate_streams(network, channels, cfg.width)
        x = torch.randn(2, channels, cfg.size, cfg.size)
        assert alternative(x).shape == model.shared(x).shape  # same contract, so a drop-in replacement
        model.shared = alternative
    x = torch.randn(BATCH, channels, cfg.size, cfg.size)
    y = _labels(k)
    step = training_step(model, [x], y,
                         extra_loss=lambda m, t: network.proposal_loss(m.last_proposals, t) * config["proposal_weight"])
    run_step(benchmark, step)


# --- HTNet + ESAAT -------------------------------------------------------------------------------------------------
@pytest.mark.benchmark(group="training step: htnet-esaat (quick, batch 32, 1 thread)")
@pytest.mark.parametrize("attention", ["agent (ESAAT)", "softmax (HTNet)"])
def test_htnet_step(benchmark, attention):
    import torch

    bundle, config = bundle_module("submissions/htnet-esaat", "bundle")
    cfg = bundle.Config.from_dict({**config, "esaat": attention.startswith("agent")})
    k = 3
    torch.manual_seed(0)
    model = bundle.build_model(cfg, k)
    x = torch.randn(BATCH, 3, cfg.image_size, cfg.image_size)
    run_step(benchmark, training_step(model, [x], _labels(k)))


# --- System 1 ------------------------------------------------------------------------------------------------------
@pytest.mark.benchmark(group="training step: fullseq-transformer (quick, batch 32, 1 thread)")
@pytest.mark.parametrize("mode", ["full sequence (16 steps)", "onset-apex (2 steps)"])
def test_fullseq_step(benchmark, mode):
    import torch

    _, config = bundle_module("submissions/fullseq-transformer", "model")
    steps = config["max_len"] if mode.startswith("full") else 2
    k, regions = 7, 17
    torch.manual_seed(0)
    model = fullseq_factory(k, steps)()
    x = torch.randn(BATCH, steps, regions, 2)
    valid = torch.ones(BATCH, steps, dtype=torch.bool)
    valid[BATCH // 2:, steps // 2 + 1:] = False  # half the batch is shorter: padding masks are exercised
    run_step(benchmark, training_step(model, [x, valid], _labels(k)))
