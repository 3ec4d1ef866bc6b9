"""The full-sequence transformer module: padding isolation, region weights, readouts, shapes, switches."""
from __future__ import annotations

import pytest
import torch

from tests.fullseq_helpers import bundle_module

M = bundle_module("model")
R, K = 17, 7


def _model(**kw):
    torch.manual_seed(0)
    cfg = dict(n_regions=R, n_classes=K, max_len=40, dim=16, depth=5, heads=2, dim_head=8, mlp_dim=32)
    cfg.update(kw)
    return M.FullSequenceTransformer(**cfg)


def _batch(lengths, t, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), t, R, 2, generator=g)
    valid = torch.zeros(len(lengths), t, dtype=torch.bool)
    for i, n in enumerate(lengths):
        valid[i, :n] = True
    return x, valid


def _pad(x, valid, extra, fill=1e3):
    """The same sequences with `extra` more padded steps holding garbage."""
    b = x.shape[0]
    junk = torch.full((b, extra, R, 2), fill)
    return torch.cat([x, junk], 1), torch.cat([valid, torch.zeros(b, extra, dtype=torch.bool)], 1)


@pytest.mark.parametrize("readout", M.READOUTS)
def test_output_does_not_depend_on_padding(readout):
    m = _model(readout=readout).eval()
    x, valid = _batch([5, 12, 1], 12)
    x[valid.logical_not()] = -777.0  # garbage in the padded steps of the short sequences
    with torch.no_grad():
        a = m(x, valid)
        b = m(*_pad(x, valid, 20))
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    # the same garbage in different values changes nothing either
    x2 = x.clone()
    x2[valid.logical_not()] = 5.0
    with torch.no_grad():
        torch.testing.assert_close(m(x2, valid), a, atol=1e-5, rtol=1e-5)


def test_explicit_attention_is_the_fused_kernel_and_vmaps():
    """Fold-batched training uses the written-out attention (vmap has no rule for the fused CPU kernel)."""
    from torch.func import functional_call, stack_module_state, vmap

    fused = _model().eval()
    explicit = _model().eval().use_explicit_attention()
    x, valid = _batch([5, 12, 1], 12)
    with torch.no_grad():
        torch.testing.assert_close(explicit(x, valid), fused(x, valid), atol=1e-5, rtol=1e-5)
        # two stacked copies under vmap give each copy's own output
        params, buffers = stack_module_state([explicit, explicit])
        out = vmap(lambda p, b: functional_call(explicit, (p, b), (x, valid)))(params, buffers)
    torch.testing.assert_close(out[1], fused(x, valid), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("readout", M.READOUTS)
def test_padded_steps_get_no_gradient_and_are_never_attended(readout):
    m = _model(readout=readout).train()  # dropout on: the mask must hold in training too
    x, valid = _batch([4, 9], 14)
    x.requires_grad_(True)
    m(x, valid).sum().backward()
    g = x.grad.abs().sum(dim=(2, 3))
    assert torch.all(g[~valid] == 0)
    assert torch.all(g[valid] > 0)
    if readout == "cls":
        return
    m.eval()
    with torch.no_grad():
        out = m.encode(x, valid)
    assert torch.all(out["time_weights"][~valid] == 0)
    torch.testing.assert_close(out["time_weights"].sum(-1), torch.ones(2))


def test_region_weights_sum_to_one_per_frame_and_adapt():
    m = _model().eval()
    x, valid = _batch([6, 6, 6], 6)
    with torch.no_grad():
        w = m.encode(x, valid)["region_weights"]
    assert w.shape == (3, 6, R)
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 6))
    assert (w >= 0).all()
    assert w.std() > 0  # content-dependent, not uniform


def test_no_region_attention_is_uniform_and_equals_flat_linear_embedding():
    m = _model(region_attention=False).eval()
    x, valid = _batch([3], 3)
    with torch.no_grad():
        w = m.encode(x, valid)["region_weights"]
        torch.testing.assert_close(w, torch.full_like(w, 1.0 / R))
        pool = m.regions
        flat = x.reshape(1, 3, R * 2) @ pool.weight.reshape(R * 2, -1) + pool.bias.sum(0)
        tokens, _ = pool(x)
        torch.testing.assert_close(tokens, pool.norm(flat), atol=1e-5, rtol=1e-5)
    assert m.regions.score is None
    assert sum(p.numel() for p in m.parameters()) < sum(p.numel() for p in _model().parameters())


def test_shapes_forward_backward_and_max_len():
    m = _model(readout="both")
    x, valid = _batch([2, 40], 40)
    logits = m(x, valid)
    assert logits.shape == (2, K)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 3])).backward()
    assert all(p.grad is not None for n, p in m.named_parameters() if p.requires_grad)
    assert len(m.layers) == 5
    with pytest.raises(ValueError, match="max_len"):
        m(*_batch([41], 41))
    with pytest.raises(ValueError, match="readout"):
        _model(readout="mean")


def test_two_step_onset_apex_input_runs():
    m = _model(max_len=2).eval()
    x, valid = _batch([2, 2], 2)
    with torch.no_grad():
        assert m(x, valid).shape == (2, K)
    assert m.pos.shape[1] == 3  # CLS + 2 steps


def test_mixed_precision_forward_backward():
    """The shared loop runs CUDA under bf16/fp16 autocast; CPU bf16 autocast exercises the same dtype mixing."""
    m = _model()
    x, valid = _batch([3, 7], 7)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = m(x, valid)
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits).all()
    torch.nn.functional.cross_entropy(logits.float(), torch.tensor([1, 2])).backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)
