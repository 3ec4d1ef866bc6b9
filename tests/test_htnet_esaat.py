"""Unit tests of the htnet-esaat bundle's modules: agent attention against eq. 7 computed directly, token counts
seen by every attention layer, LAPE, entropy-based selection, FLOPs, and the diffusion model (eqs. 8-10)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

BUNDLE = Path(__file__).resolve().parents[1] / "submissions" / "htnet-esaat"


def bundle_module(name: str):
    """Import a module of the bundle the way the runner does (a private package named by code hash)."""
    from harness.runner.bundle import import_module, load_bundle

    return import_module(load_bundle(BUNDLE), name)


def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _direct_agent_attention(attn, x: torch.Tensor, with_han_terms: bool) -> np.ndarray:
    """Eq. 7 (and Han et al.'s biases + DWC) computed token by token in float64 NumPy for one sample."""
    c, h, w = x.shape[1:]
    n_tok, heads, d = h * w, attn.heads, attn.dim_head
    inner = heads * d
    X = x[0].double().numpy().reshape(c, n_tok).T                           # (N, C), row-major tokens
    W = attn.to_qkv.weight.detach().double().numpy()[:, :, 0, 0]           # (3·inner, C)
    Q, K, V = X @ W[:inner].T, X @ W[inner:2 * inner].T, X @ W[2 * inner:].T
    side = math.isqrt(attn.agent_num)
    ph, pw = h // side, w // side
    A = np.stack([Q.reshape(h, w, inner)[i * ph:(i + 1) * ph, j * pw:(j + 1) * pw].mean(axis=(0, 1))
                  for i in range(side) for j in range(side)])                # agents: pooled queries (n, inner)
    s = d ** -0.5 if with_han_terms else 1.0
    if with_han_terms:
        b1, b2 = (t.detach().double().numpy()[0] for t in attn.biases())
    out = np.zeros((n_tok, inner))
    for hd in range(heads):
        sl = slice(hd * d, (hd + 1) * d)
        qa, ak = (Q[:, sl] * s) @ A[:, sl].T, (A[:, sl] * s) @ K[:, sl].T
        if with_han_terms:
            qa, ak = qa + b2[hd], ak + b1[hd]
        out[:, sl] = _softmax(qa) @ _softmax(ak) @ V[:, sl]
    if with_han_terms:  # DWC(V): depthwise 3x3, zero padding
        kern = attn.dwc.weight.detach().double().numpy()[:, 0]
        bias = attn.dwc.bias.detach().double().numpy()
        Vm = np.pad(V.reshape(h, w, inner), ((1, 1), (1, 1), (0, 0)))
        dwc = np.zeros((h, w, inner))
        for i in range(h):
            for j in range(w):
                dwc[i, j] = (Vm[i:i + 3, j:j + 3] * kern.transpose(1, 2, 0)).sum(axis=(0, 1)) + bias
        out = out + dwc.reshape(n_tok, inner)
    Wo = attn.to_out.weight.detach().double().numpy()[:, :, 0, 0]
    y = out @ Wo.T + attn.to_out.bias.detach().double().numpy()
    return y.T.reshape(c, h, w)


@pytest.mark.parametrize("heads,window,agents", [(1, 4, 4), (2, 4, 4), (2, 4, 1), (3, 6, 9)])
def test_plain_agent_attention_equals_eq7_computed_directly(heads, window, agents):
    aa = bundle_module("agent_attention")
    torch.manual_seed(0)
    attn = aa.AgentAttention(6, heads, window, agent_num=agents, form="plain").double()
    x = torch.randn(1, 6, window, window, dtype=torch.float64)
    got = attn(x)[0].detach().numpy()
    np.testing.assert_allclose(got, _direct_agent_attention(attn, x, with_han_terms=False), rtol=1e-9, atol=1e-10)


def test_han_agent_attention_equals_direct_form_with_biases_and_dwc():
    aa = bundle_module("agent_attention")
    torch.manual_seed(1)
    attn = aa.AgentAttention(8, 2, 4, agent_num=4, form="han").double()
    with torch.no_grad():  # biases away from their tiny init so a missing term would show
        for name in ("an_bias", "na_bias", "ah_bias", "aw_bias", "ha_bias", "wa_bias"):
            getattr(attn, name).normal_(0, 0.5)
    x = torch.randn(1, 8, 4, 4, dtype=torch.float64)
    got = attn(x)[0].detach().numpy()
    np.testing.assert_allclose(got, _direct_agent_attention(attn, x, with_han_terms=True), rtol=1e-9, atol=1e-10)
    # B1's row/column parts are laid out as Han et al.: B1[h, a, (i, j)] = interp + ah[h, a, i] + aw[h, a, j]
    with torch.no_grad():
        b1, b2 = attn.biases()
    interp = F.interpolate(attn.an_bias.detach(), size=(4, 4), mode="bilinear")
    i, j = 2, 3
    want = interp[1, 0, i, j] + attn.ah_bias[0, 1, 0, i, 0] + attn.aw_bias[0, 1, 0, 0, j]
    assert float(b1[0, 1, 0, i * 4 + j]) == pytest.approx(float(want.detach()))
    want2 = F.interpolate(attn.na_bias.detach(), size=(4, 4), mode="bilinear")[1, 3, i, j] + attn.ha_bias[0, 1, i, 0, 3] \
        + attn.wa_bias[0, 1, 0, j, 3]
    assert float(b2[0, 1, i * 4 + j, 3]) == pytest.approx(float(want2.detach()))


def test_agent_num_must_be_a_square_that_fits_the_window():
    aa = bundle_module("agent_attention")
    with pytest.raises(ValueError, match="perfect square"):
        aa.AgentAttention(8, 2, 4, agent_num=3)
    with pytest.raises(ValueError, match="perfect square"):
        aa.AgentAttention(8, 2, 2, agent_num=9)


def _tokens_seen(model, image_size: int) -> list[int]:
    seen = []
    hooks = [m.register_forward_pre_hook(lambda mod, inp: seen.append(inp[0].shape[-2] * inp[0].shape[-1]))
             for b in model.blocks() for m in [b.attn] if m is not None]
    with torch.no_grad():
        model(torch.randn(2, 3, image_size, image_size))
    for hk in hooks:
        hk.remove()
    return seen


@pytest.mark.parametrize("profile", ["quick", "paper"])
@pytest.mark.parametrize("attention", ["softmax", "agent"])
def test_every_attention_layer_sees_more_than_one_token(profile, attention):
    import yaml

    cfg = yaml.safe_load((BUNDLE / "bundle.yaml").read_text())["profiles"][profile]
    h = bundle_module("htnet")
    model = h.HTNet(image_size=cfg["image_size"], patch_size=cfg["patch_size"], num_classes=3, dim=6, heads=1,
                    num_hierarchies=cfg["num_hierarchies"], block_repeats=tuple(cfg["depths"]), mlp_mult=1,
                    attention=attention, agent_num=cfg["agent_num"])
    seen = _tokens_seen(model, cfg["image_size"])
    assert len(seen) == sum(cfg["depths"])                   # every attention layer ran
    assert min(seen) >= 4 and set(seen) == {model.tokens_per_attention}


def test_the_published_htnet_sizes_give_one_token_per_attention_call():
    """Why the bundle changes sizes: 28 px, patch 7, 3 levels -> a single token per call (methods.md §1.2)."""
    h = bundle_module("htnet")
    model = h.HTNet(image_size=28, patch_size=7, num_classes=3, dim=6, heads=1, block_repeats=(1, 1, 1))
    assert set(_tokens_seen(model, 28)) == {1}


def test_blocks_line_up_with_the_four_facial_regions():
    """At the middle level of the quick/paper geometry each block is exactly one quadrant of the mosaic."""
    h = bundle_module("htnet")
    x = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8)
    blocks = h.to_blocks(x, 2)
    assert blocks.shape == (8, 1, 4, 4)
    assert torch.equal(blocks[1, 0], x[0, 0, :4, 4:])        # sample 0, top-right quadrant (second eye)
    assert torch.equal(blocks[6, 0], x[1, 0, 4:, :4])        # sample 1, bottom-left quadrant (mouth corner)
    assert torch.equal(h.from_blocks(blocks, 2), x)


def test_lape_adds_one_learnable_vector_per_patch():
    lape_mod, h = bundle_module("lape"), bundle_module("htnet")
    lape = lape_mod.LearnableAbsolutePositionEmbedding(5, 4, 4)
    x = torch.randn(3, 5, 4, 4)
    torch.testing.assert_close(lape(x) - x, lape.pe.expand(3, -1, -1, -1).detach())
    assert lape.pe.requires_grad and lape.pe.shape == (1, 5, 4, 4)
    assert len({tuple(lape.pe[0, :, i, j].tolist()) for i in range(4) for j in range(4)}) == 16
    lape(x).sum().backward()
    assert torch.equal(lape.pe.grad, torch.full_like(lape.pe, 3.0))
    kw = dict(image_size=32, patch_size=2, num_classes=3, dim=6, heads=1, block_repeats=(1, 1, 1))
    with_pe, without = h.HTNet(lape=True, **kw), h.HTNet(lape=False, **kw)
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(with_pe) - n(without) == 6 * 16 * 16           # dim x patch map


def _small_model(**kw):
    h = bundle_module("htnet")
    torch.manual_seed(0)
    return h.HTNet(image_size=16, patch_size=2, num_classes=3, dim=8, heads=2, num_hierarchies=2,
                   block_repeats=(2, 2), mlp_mult=2, attention="agent", **kw)


def test_gaussian_entropy_is_sum_of_log_std():
    es = bundle_module("entropy_selection")
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(20000, 3, generator=g) * torch.tensor([1.0, 2.0, 0.5])
    assert es.gaussian_entropy(feats) == pytest.approx(math.log(1.0) + math.log(2.0) + math.log(0.5), abs=0.02)


def test_selection_removes_the_lowest_transfer_entropy_layers_then_params_and_flops_drop():
    es, fl = bundle_module("entropy_selection"), bundle_module("flops")
    model = _small_model()
    blocks = list(model.blocks())
    with torch.no_grad():  # block 2's attention adds nothing: removing it cannot change the output's entropy
        blocks[2].attn.to_out.weight.zero_()
        blocks[2].attn.to_out.bias.zero_()
    x = np.random.default_rng(0).normal(size=(40, 3, 16, 16)).astype(np.float32)
    scores = es.transfer_entropy_scores(model, x)
    assert set(scores) == {0, 1, 2, 3} and scores[2] == pytest.approx(0.0, abs=1e-9)
    assert min(scores.values()) == scores[2] and all(scores[i] > 1e-6 for i in (0, 1, 3))
    sel = es.select_attention_layers(model, x, 2)
    assert sel.removed[0] == 2 and len(set(sel.removed)) == 2
    assert sel.removed[1] == min(sel.scores[1], key=sel.scores[1].get)   # greedy: lowest after rescoring
    assert not any(b.skip_attention for b in model.blocks())              # scoring leaves the model intact
    n0 = sum(p.numel() for p in model.parameters())
    f0 = fl.count_flops(model, torch.as_tensor(x[:1]))
    es.remove_attention_layers(model, sel.removed)
    assert [b.has_attention for b in model.blocks()] == [i not in sel.removed for i in range(4)]
    assert sum(p.numel() for p in model.parameters()) < n0
    assert 0 < fl.count_flops(model, torch.as_tensor(x[:1])) < f0
    assert model(torch.as_tensor(x[:2])).shape == (2, 3)


def test_n_to_remove_keeps_one_attention_layer():
    es = bundle_module("entropy_selection")
    assert es.n_to_remove(14, 0.4) == 6 and es.n_to_remove(3, 0.4) == 1 and es.n_to_remove(2, 0.9) == 1
    assert es.n_to_remove(5, 0.0) == 0
    with pytest.raises(ValueError):
        es.n_to_remove(5, 1.0)


def test_flops_are_counted_by_the_library_for_one_sample():
    fl = bundle_module("flops")
    lin = torch.nn.Linear(10, 20)
    assert fl.count_flops(lin, torch.randn(7, 10)) == 2 * 10 * 20


# --- diffusion ------------------------------------------------------------------------------------------------

def test_cosine_schedule_properties():
    d = bundle_module("diffusion")
    s = d.cosine_schedule(1000)
    b, ab = s.betas.double().numpy(), s.alpha_bar.double().numpy()
    assert s.T == 1000 and (b > 0).all() and (b <= 0.999).all()
    assert np.all(np.diff(b[:-1]) > 0)                        # noise grows step by step
    assert np.all(np.diff(ab) < 0) and 0.99 < ab[0] < 1 and ab[-1] < 1e-3
    np.testing.assert_allclose(ab, np.cumprod(1 - b), rtol=1e-12)   # eq. 8's α_t = Π(1 − β_i)
    t = np.arange(1, 1001)  # Nichol & Dhariwal's ᾱ(t) = f(t)/f(0) before clipping
    f = lambda u: np.cos((u / 1000 + 0.008) / 1.008 * np.pi / 2) ** 2  # noqa: E731
    np.testing.assert_allclose(ab[:900], (f(t) / f(0))[:900], rtol=1e-4)


def test_forward_noising_matches_eq8_closed_form():
    d = bundle_module("diffusion")
    s = d.cosine_schedule(50)
    x0, eps = torch.randn(3, 3, 8, 8), torch.randn(3, 3, 8, 8)
    t = torch.tensor([1, 25, 50])
    got = d.q_sample(x0, t, eps, s)
    for i, ti in enumerate(t.tolist()):
        a = float(np.prod(1 - s.betas.double().numpy()[:ti]))
        torch.testing.assert_close(got[i], math.sqrt(a) * x0[i] + math.sqrt(1 - a) * eps[i], rtol=1e-5, atol=1e-5)


def test_ddpm_update_with_an_oracle_noise_predictor_recovers_the_data_point():
    """With f_θ = the true noise of a one-point data set, the DDPM form of eq. 10 lands exactly on x0."""
    d = bundle_module("diffusion")
    s = d.cosine_schedule(30)
    x0 = torch.randn(2, 3, 4, 4)

    class Oracle(torch.nn.Module):
        def forward(self, x, t, y):
            ab = s.alpha_bar[t - 1].float().reshape(-1, 1, 1, 1)
            return (x - ab.sqrt() * x0[y]) / (1 - ab).sqrt()

    out = d.sample(Oracle(), np.array([0, 1, 1]), (3, 4, 4), s, seed=0, update="ddpm")
    np.testing.assert_allclose(out, x0[[0, 1, 1]].numpy(), atol=1e-3)
    literal = d.sample(Oracle(), np.array([0]), (3, 4, 4), s, seed=0, update="paper")
    assert np.abs(literal - x0[[0]].numpy()).max() > 0.1      # eq. 10 as printed does not (README: deviation)


def test_denoiser_loss_eq9_and_sampler_shapes():
    d = bundle_module("diffusion")
    cfg = d.DiffusionConfig(T=10, train_steps=3, batch_size=4, width=8, patch=2)
    x = np.random.default_rng(0).normal(size=(6, 3, 8, 8)).astype(np.float32)
    y = np.array([0, 0, 0, 1, 1, 2])
    model, sched = d.train_denoiser(x, y, 3, cfg, seed=0)
    loss = d.loss_eq9(model, torch.as_tensor(x), torch.as_tensor(y), sched, torch.Generator().manual_seed(0))
    assert loss.ndim == 0 and float(loss.detach()) > 0
    out = d.sample(model, np.array([1, 2, 2]), (3, 8, 8), sched, seed=0)
    assert out.shape == (3, 3, 8, 8) and np.isfinite(out).all()


def test_generation_counts_fill_minorities_up_to_the_majority_within_the_cap():
    d = bundle_module("diffusion")
    assert d.generation_counts(np.array([50, 20, 5, 0]), 1.0).tolist() == [0, 20, 5, 0]
    assert d.generation_counts(np.array([50, 40, 5]), 2.0).tolist() == [0, 10, 10]


def test_augment_is_deterministic_and_reports_counts():
    d = bundle_module("diffusion")
    cfg = d.DiffusionConfig(T=8, train_steps=2, batch_size=4, width=8, patch=2)
    x = np.random.default_rng(0).normal(size=(9, 3, 8, 8)).astype(np.float32)
    y = np.array([0, 0, 0, 0, 0, 1, 1, 2, 2])
    gx, gy, counts = d.augment(x, y, 3, cfg, seed=3)
    assert counts.tolist() == [0, 2, 2] and gy.tolist() == [1, 1, 2, 2] and gx.shape == (4, 3, 8, 8)
    assert (gx >= x.min(axis=(0, 2, 3), keepdims=True)).all() and (gx <= x.max(axis=(0, 2, 3), keepdims=True)).all()
    gx2, _, _ = d.augment(x, y, 3, cfg, seed=3)
    np.testing.assert_array_equal(gx, gx2)
