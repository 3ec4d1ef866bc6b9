"""Unit tests of the htnet-esaat bundle's modules: agent attention against eq. 7 computed directly, token counts
seen by every attention layer, LAPE, entropy-based selection, FLOPs, and the diffusion model (eqs. 8-10)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

BUNDLE = Path(__file__).resolve().parents[2] / "submissions" / "htnet-esaat"


def bundle_module(name: str):
    """Import a module of the bundle the way the runner does (a private package named by code hash)."""
    from harness.bundles.loader import import_module
    from harness.bundles.manifest import load_bundle

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


def _profile_model(profile: str, attention: str):
    import yaml

    cfg = yaml.safe_load((BUNDLE / "bundle.yaml").read_text())["profiles"][profile]
    h = bundle_module("htnet")
    model = h.HTNet(image_size=cfg["image_size"], patch_size=cfg["patch_size"], num_classes=3, dim=6, heads=1,
                    num_hierarchies=cfg["num_hierarchies"], block_repeats=tuple(cfg["depths"]), mlp_mult=1,
                    attention=attention, agent_num=cfg["agent_num"])
    return model, cfg


@pytest.mark.parametrize("profile", ["quick", "wide"])
@pytest.mark.parametrize("attention", ["softmax", "agent"])
def test_every_attention_layer_of_the_wide_geometries_sees_more_than_one_token(profile, attention):
    model, cfg = _profile_model(profile, attention)
    seen = _tokens_seen(model, cfg["image_size"])
    assert len(seen) == sum(cfg["depths"])                   # every attention layer ran
    assert min(seen) >= 4 and set(seen) == {model.tokens_per_attention}


@pytest.mark.parametrize("attention", ["softmax", "agent"])
def test_the_published_htnet_sizes_give_one_token_per_attention_call(attention):
    """The `paper` profile keeps HTNet's 28 px, patch 7, 3 levels: a single token per call (methods.md §1.2),
    which is why `wide` exists."""
    model, cfg = _profile_model("paper", attention)
    assert (cfg["image_size"], cfg["patch_size"]) == (28, 7)
    seen = _tokens_seen(model, 28)
    assert len(seen) == sum(cfg["depths"]) and set(seen) == {1} == {model.tokens_per_attention}


def test_blocks_line_up_with_the_four_facial_regions():
    """At the middle level of the quick/wide geometry each block is exactly one quadrant of the mosaic."""
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


def test_every_update_form_is_checked_against_an_oracle_predictor():
    """With f_θ = the true noise (or the true clean sample) of a one-point data set, the clipped-x̂_0 posterior step
    and Ho et al.'s eq. 11 land exactly on x0; eq. 10 as printed does not (README: deviation)."""
    d = bundle_module("diffusion")
    s = d.cosine_schedule(30)
    x0 = torch.randn(2, 3, 4, 4)

    class Oracle(torch.nn.Module):
        def __init__(self, target: str):
            super().__init__()
            self.target = target

        def forward(self, x, t, y):
            if self.target == "x0":
                return x0[y]
            ab = s.alpha_bar[t - 1].float().reshape(-1, 1, 1, 1)
            return (x - ab.sqrt() * x0[y]) / (1 - ab).sqrt()

    labels, want = np.array([0, 1, 1]), x0[[0, 1, 1]].numpy()
    wide = (np.full((1, 3, 1, 1), -10.0), np.full((1, 3, 1, 1), 10.0))
    for update, target in [("clipped_x0", "eps"), ("clipped_x0", "x0"), ("eps", "eps")]:
        out = d.sample(Oracle(target), labels, (3, 4, 4), s, seed=0, update=update, clip=wide, target=target)
        np.testing.assert_allclose(out, want, atol=1e-3, err_msg=f"{update}/{target}")
    literal = d.sample(Oracle("eps"), np.array([0]), (3, 4, 4), s, seed=0, update="paper")
    assert np.abs(literal - x0[[0]].numpy()).max() > 0.1
    # the clip bounds x̂_0: with a range that excludes x0, the sample stays inside the range
    tight = (np.full((1, 3, 1, 1), -0.1), np.full((1, 3, 1, 1), 0.1))
    out = d.sample(Oracle("eps"), labels, (3, 4, 4), s, seed=0, clip=tight)
    assert np.abs(out).max() <= 0.1 + 1e-6


def _class_structured(n_per_class=(16, 8, 8), size: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Toy flow mosaics: every class moves one quadrant of its own, plus small noise; standardised per channel
    as the bundle standardises its inputs."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    x = rng.normal(0, 0.1, (len(y), 3, size, size)).astype(np.float32)
    q = size // 2
    for i, c in enumerate(y):
        r, col = divmod(int(c), 2)
        x[i, :, r * q:(r + 1) * q, col * q:(col + 1) * q] += 1.0 + 0.2 * rng.normal()
    x = (x - x.mean(axis=(0, 2, 3), keepdims=True)) / x.std(axis=(0, 2, 3), keepdims=True)
    return x.astype(np.float32), y


@pytest.mark.parametrize("target, steps, closeness", [("x0", 100, 0.3), ("eps", 200, 0.7)])
def test_generated_samples_are_unsaturated_and_of_their_class(target, steps, closeness):
    """The sampler as the bundle runs it (default update) on small class-structured data: the samples stay inside
    the data's range and a linear probe fitted on the real samples recognises their class. The unclipped ε form
    of eq. 11 on the same denoiser pins ~99 % of the values to the clip limits (the bug this guards)."""
    d = bundle_module("diffusion")
    torch.set_num_threads(1)
    x, y = _class_structured()
    cfg = d.DiffusionConfig(T=40, train_steps=steps, batch_size=32, lr=2e-3, width=16, patch=1, target=target,
                            max_ratio=2.0)
    gx, gy, counts = d.augment(x, y, 3, cfg, seed=0)
    assert counts.tolist() == [0, 8, 8]
    q = d.sample_quality(x, y, gx, gy, 3)
    assert q["saturated"] < 0.02, q
    assert q["probe_acc"] >= 0.85 and q["probe_acc"] > q["probe_chance"], q
    assert q["own_class_dist"] < closeness * q["other_class_dist"], q


def test_sample_quality_tells_data_from_noise():
    d = bundle_module("diffusion")
    x, y = _class_structured()
    real = d.sample_quality(x, y, x[y > 0], y[y > 0], 3)
    assert real["saturated"] < 0.05 and real["probe_acc"] == 1.0 and real["own_class_dist"] < real["other_class_dist"]
    assert real["own_class_dist"] == pytest.approx(
        np.mean([np.linalg.norm(v - x[y == c].mean(0)) for v, c in zip(x[y > 0], y[y > 0])]), rel=1e-4)
    lo, hi = d.channel_range(x)
    noise = np.where(np.random.default_rng(1).random(x[y > 0].shape) < 0.5, lo, hi).astype(np.float32)
    q = d.sample_quality(x, y, noise, y[y > 0], 3)
    assert q["saturated"] == 1.0 and q["own_class_dist"] > 2 * real["own_class_dist"]
    assert d.sample_quality(x, y, x[:0], y[:0], 3) == {}
    one_class = d.sample_quality(x[y == 1], y[y == 1], x[y == 1], y[y == 1], 3)
    assert "probe_acc" not in one_class and "other_class_dist" not in one_class


def test_denoiser_refuses_a_first_layer_narrower_than_its_cells():
    d = bundle_module("diffusion")
    with pytest.raises(ValueError, match="narrower"):
        d.Denoiser(3, channels=3, width=16, patch=4)
    with pytest.raises(ValueError, match="target"):
        d.DiffusionConfig(target="v")
    with pytest.raises(ValueError, match="clipped_x0"):
        d.DiffusionConfig(target="x0", update="eps")


def test_denoiser_loss_eq9_and_sampler_shapes():
    d = bundle_module("diffusion")
    cfg = d.DiffusionConfig(T=10, train_steps=3, batch_size=4, width=16, patch=2)
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
    cfg = d.DiffusionConfig(T=8, train_steps=2, batch_size=4, width=16, patch=2)
    x = np.random.default_rng(0).normal(size=(9, 3, 8, 8)).astype(np.float32)
    y = np.array([0, 0, 0, 0, 0, 1, 1, 2, 2])
    gx, gy, counts = d.augment(x, y, 3, cfg, seed=3)
    assert counts.tolist() == [0, 2, 2] and gy.tolist() == [1, 1, 2, 2] and gx.shape == (4, 3, 8, 8)
    assert (gx >= x.min(axis=(0, 2, 3), keepdims=True)).all() and (gx <= x.max(axis=(0, 2, 3), keepdims=True)).all()
    gx2, _, _ = d.augment(x, y, 3, cfg, seed=3)
    np.testing.assert_array_equal(gx, gx2)


# --- HTNet's published input (inputs.py) ----------------------------------------------------------------------

def _landmarks_at(centres: dict[str, tuple[float, float]]) -> np.ndarray:
    from harness.preprocess.regions import N_LANDMARKS, region_indices

    lm = np.full((N_LANDMARKS, 2), 14.0)
    for name, xy in centres.items():
        lm[list(region_indices(name))] = xy
    return lm


def test_published_mosaic_cuts_as_main_htnet_does_x_as_row_clipped_and_truncated():
    inputs = bundle_module("inputs")
    grid = np.arange(28)[:, None] * 100 + np.arange(28)[None, :]          # value = 100 * row + column
    array = np.dstack([grid, -grid, grid]).astype(np.float64)
    lm = _landmarks_at({"eye_right": (9.53, 11.06), "eye_left": (21.4, 10.92),   # HTNet's fallback points
                        "mouth_right": (3.2, 22.12), "mouth_left": (20.58, 25.9)})
    m = inputs.htnet_published_mosaic(array, lm)
    assert m.shape == (28, 28, 3)
    # patch k = array[x - 7 : x + 7, y - 7 : y + 7] with (x, y) clipped to [7, 21] and truncated
    expect = {(0, 0): (9, 11), (0, 1): (21, 10), (1, 0): (7, 21), (1, 1): (20, 21)}
    for (i, j), (cx, cy) in expect.items():
        np.testing.assert_array_equal(m[14 * i:14 * i + 14, 14 * j:14 * j + 14], array[cx - 7:cx + 7, cy - 7:cy + 7])
    # the quirk: the image-right eye's patch is centred on row 21, column 10 (around the mouth on a frontal face)
    assert m[7, 14 + 7, 0] == 21 * 100 + 10


def test_minmax_255_scales_each_channel_to_8_bit_levels():
    inputs = bundle_module("inputs")
    x = np.dstack([np.linspace(-2, 3, 16).reshape(4, 4), np.full((4, 4), 0.7), np.linspace(0, 1, 16).reshape(4, 4)])
    out = inputs.minmax_255(x)
    assert out[..., 0].min() == 0 and out[..., 0].max() == 255 and (out == np.rint(out)).all()
    assert not out[..., 1].any()                                               # a flat channel: no motion, 0
    np.testing.assert_allclose(out[..., 2], np.rint(np.linspace(0, 255, 16).reshape(4, 4)))


def test_published_recipe_is_farneback_magnitude_on_casme3_and_tvl1_strain_elsewhere(tmp_path):
    from types import SimpleNamespace

    from harness.preprocess.preprocessor import Batch

    inputs = bundle_module("inputs")
    calls = []
    rng = np.random.default_rng(0)
    field = rng.normal(size=(28, 28, 2)).astype(np.float32)
    strain = np.abs(rng.normal(size=(28, 28))).astype(np.float32)

    class Pre:
        def onset_apex_flow(self, sample, flow=None, face=None):
            calls.append((sample.dataset, flow.backend, flow.size, face.size))
            return SimpleNamespace(flow=field, strain=strain, u=field[..., 0], v=field[..., 1],
                                   landmarks=_landmarks_at({}))

        def map(self, samples, fn, on_no_face=None, context=None):
            return Batch([fn(s) for s in samples], tuple(range(len(samples))), tuple(s.sample_id for s in samples))

    ctx = SimpleNamespace(preprocess=Pre())
    samples = [SimpleNamespace(dataset=d, sample_id=d) for d in ("casme3", "casme2", "dfme")]
    x, ok = inputs.flow_mosaics(samples, ctx, 28, recipe="htnet")
    assert calls == [("casme3", "farneback", 28, 28), ("casme2", "tvl1", 28, 128), ("dfme", "tvl1", 28, 128)]
    assert ok.all() and x.shape == (3, 3, 28, 28) and x.min() >= 0 and x.max() <= 255
    magnitude = inputs.minmax_255(np.dstack([field, np.hypot(field[..., 0], field[..., 1])]))
    with_strain = inputs.minmax_255(np.dstack([field, strain]))
    lm = _landmarks_at({})
    np.testing.assert_array_equal(x[0], inputs.htnet_published_mosaic(magnitude, lm).transpose(2, 0, 1))
    np.testing.assert_array_equal(x[1], inputs.htnet_published_mosaic(with_strain, lm).transpose(2, 0, 1))
    with pytest.raises(ValueError, match="28"):
        inputs.flow_mosaics(samples, ctx, 32, recipe="htnet")
