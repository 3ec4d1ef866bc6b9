"""FeatRef network: shapes, stream independence, the proposal loss, and that the shared loop trains it."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tests.baselines.helpers import bundle_module

net = bundle_module("featref", "network")
SMALL = net.FeatRefConfig(in_channels=2, size=12, width=2, reduce=4, dim=8)


def test_forward_gives_logits_proposals_and_attention_factors():
    torch.manual_seed(0)
    model = net.FeatRef(5, SMALL).eval()
    with torch.no_grad():
        logits = model(torch.randn(3, 2, 12, 12))
    assert logits.shape == (3, 5) and model.last_proposals.shape == (3, 5)
    att = model.last_attention
    assert att.shape == (3, 5, 3, 3) and float(att.min()) >= 0 and float(att.max()) <= 1


def test_each_flow_channel_has_its_own_inception_stream():
    """Grouped convolutions: the u stream's features do not depend on v, and vice versa."""
    torch.manual_seed(0)
    shared = net.SharedModule(2, 2).eval()
    x = torch.randn(2, 2, 12, 12)
    y = x.clone()
    y[:, 1] += 5.0  # change v only
    a, b = shared(x), shared(y)
    half = a.shape[1] // 2
    assert torch.equal(a[:, :half], b[:, :half]) and not torch.equal(a[:, half:], b[:, half:])


def test_proposal_loss_is_per_class_binary_cross_entropy():
    proposals = torch.tensor([[2.0, -1.0, 0.0], [0.5, 0.5, -3.0]])
    target = torch.tensor([0, 2])
    onehot = torch.tensor([[1.0, 0, 0], [0, 0, 1.0]])
    p = torch.sigmoid(proposals)
    manual = -(onehot * torch.log(p) + (1 - onehot) * torch.log(1 - p)).mean()
    assert float(net.proposal_loss(proposals, target)) == pytest.approx(float(manual), rel=1e-6)
    weighted = net.proposal_loss(proposals, target, pos_weight=torch.tensor([2.0, 2.0, 2.0]))
    manual_w = -(2 * onehot * torch.log(p) + (1 - onehot) * torch.log(1 - p)).mean()
    assert float(weighted) == pytest.approx(float(manual_w), rel=1e-6)


def test_shared_loop_trains_it_on_flow_direction(tmp_path):
    """Three classes = three directions of a local motion patch; a few epochs must separate them."""
    from harness.kit.nn.training import TrainConfig, fit, predict_proba

    rng = np.random.default_rng(0)
    n, k = 60, 3
    y = np.arange(n) % k
    x = 0.1 * rng.normal(size=(n, 2, 12, 12)).astype(np.float32)
    directions = np.array([[1.0, 0.0], [0.0, -1.0], [-1.0, 0.0]], np.float32)
    x[:, :, 3:9, 3:9] += directions[y][:, :, None, None]
    ctx = SimpleNamespace(device="cpu", classes=("a", "b", "c"), rng=lambda stream=0: np.random.default_rng(stream),
                          report_progress=lambda **_: None)
    torch.manual_seed(0)
    model = net.FeatRef(k, SMALL)
    pos_weight = torch.full((k,), 2.0)
    calls = []

    def loss_fn(m, batch, target, base):
        calls.append(1)
        return base + net.proposal_loss(m.last_proposals, target, pos_weight)

    fit(model, [x], y, TrainConfig(epochs=8, batch_size=16, lr=3e-3), ctx, loss_fn=loss_fn)
    pred = predict_proba(model, [x], "cpu").argmax(1)
    assert calls and (pred == y).mean() > 0.9
