"""The htnet-esaat bundle's fit/predict on stand-in inputs: what it records, and that diffusion and entropy
selection only ever see the fold's real training inputs (the preprocessing is replaced by fixed mosaics)."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from harness import api
from harness.api import BadInput, Context, LabelledSample, Sample, TrainSet
from tests.systems.test_htnet_esaat import BUNDLE, bundle_module

CLASSES = ("negative", "positive", "surprise")
COUNTS = (12, 6, 4)


def _mosaic(label: int, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    x = rng.normal(0, 0.1, (3, size, size)).astype(np.float32)
    q = size // 2
    r, c = divmod(label, 2)
    x[:, r * q:(r + 1) * q, c * q:(c + 1) * q] += 1.0      # motion in one region per class
    return x


def _samples(n_per_class, labelled: bool, start: int = 0):
    out = []
    for label, n in enumerate(n_per_class):
        for _ in range(n):
            sid = f"s{start + len(out):03d}"
            common = dict(sample_id=sid, dataset="casme3", subject=f"sub{len(out) % 4}", fps=30.0, onset=0, apex=3,
                          offset=6, frame_indices=(0, 1, 2, 3), frames_dir="/nonexistent", frame_files=("a",) * 4,
                          cache_key=sid)
            out.append(LabelledSample(**common, label=CLASSES[label], label_index=label) if labelled
                       else Sample(**common))
    return out


@pytest.fixture
def setup(monkeypatch, tmp_path):
    mod = bundle_module("bundle")
    rng = np.random.default_rng(0)
    train = TrainSet(_samples(COUNTS, True), CLASSES)
    test = api.TestSet(_samples((3, 3, 3), False, start=100), CLASSES)
    truth = {s.sample_id: s.label_index for s in train}
    truth.update({s.sample_id: i // 3 for i, s in enumerate(test)})
    mosaics = {sid: _mosaic(lab, rng) for sid, lab in truth.items()}

    def fake_inputs(self, samples, context):
        return np.stack([mosaics[s.sample_id] for s in samples]), np.ones(len(samples), dtype=bool)

    monkeypatch.setattr(mod.HtnetEsaat, "_inputs", fake_inputs)
    ctx = Context(classes=CLASSES, protocol="casme3-3class", phase=None, fold="sub0", seed=0, device="cpu",
                  profile="quick", config={}, cache_dir=tmp_path / "cache", work_dir=tmp_path / "work")
    quick = yaml.safe_load((BUNDLE / "bundle.yaml").read_text())["profiles"]["quick"]
    quick.update(epochs=3, finetune_epochs=1, diffusion_train_steps=3, diffusion_T=5)
    return mod, train, test, ctx, quick, mosaics


def test_fit_records_params_flops_removal_and_generated_counts(setup, monkeypatch):
    mod, train, test, ctx, quick, mosaics = setup
    diff, es = bundle_module("diffusion"), bundle_module("entropy_selection")
    seen = {}
    real_augment, real_select = diff.augment, es.select_attention_layers

    def spy_augment(x, y, *a, **k):
        seen["augment"] = (x.copy(), y.copy())
        return real_augment(x, y, *a, **k)

    def spy_select(model, x, *a, **k):
        seen["select"] = x.copy()
        return real_select(model, x, *a, **k)

    monkeypatch.setattr(diff, "augment", spy_augment)
    monkeypatch.setattr(es, "select_attention_layers", spy_select)
    model = mod.HtnetEsaat(**quick)
    model.fit(train, ctx)

    raw = np.stack([mosaics[s.sample_id] for s in train])
    standardised = (raw - raw.mean(axis=(0, 2, 3), keepdims=True)) / (raw.std(axis=(0, 2, 3), keepdims=True) + 1e-6)
    # diffusion and entropy selection saw exactly the fold's real training inputs, nothing else
    np.testing.assert_allclose(seen["augment"][0], standardised, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(seen["augment"][1], train.labels)
    np.testing.assert_allclose(seen["select"], standardised, rtol=1e-5, atol=1e-5)

    r = ctx.records
    assert r["generated"] == {"negative": 0, "positive": 6, "surprise": 4} and r["generated_total"] == 10
    # what the generated samples look like is in the provenance, measured against the real training inputs
    q = r["details"]["generated_quality"]
    assert set(q) == {"saturated", "own_class_dist", "other_class_dist", "real_own_class_dist", "probe_acc",
                      "probe_chance"}
    assert r["gen_saturated"] == q["saturated"] and r["gen_probe_acc"] == q["probe_acc"]
    assert r["gen_own_other_dist"] == pytest.approx(q["own_class_dist"] / q["other_class_dist"], rel=1e-3)
    assert 0 <= q["saturated"] <= 1 and q["probe_chance"] == 0.6  # 6 of the 10 generated are "positive"
    assert r["details"]["attention_layers"] == 3 and r["layers_removed"] == 1
    assert len(r["details"]["removed_blocks"]) == 1 and len(r["details"]["te_scores"]) == 1
    assert r["n_params"] < r["n_params_before"] and r["flops"] < r["flops_before"]
    assert r["tokens_per_attention"] == 16 and r["latency_ms"] > 0

    # predict never trains a denoiser or rescoring layers
    monkeypatch.setattr(diff, "augment", lambda *a, **k: pytest.fail("predict must not run the diffusion model"))
    monkeypatch.setattr(es, "select_attention_layers", lambda *a, **k: pytest.fail("predict must not select"))
    pred = model.predict(test, ctx)
    assert len(pred.labels) == len(test) and pred.proba.shape == (len(test), 3)
    np.testing.assert_allclose(pred.proba.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("switch,expect", [
    ({"esaat": False}, lambda r: r["layers_removed"] == 0 and r["n_params"] == r["n_params_before"]),
    ({"diffusion": False}, lambda r: r["generated_total"] == 0 and r["layers_removed"] == 1
     and "gen_saturated" not in r and "generated_quality" not in r["details"]),
])
def test_ablation_switches(setup, switch, expect):
    mod, train, test, ctx, quick, _ = setup
    mod.HtnetEsaat(**{**quick, **switch}).fit(train, ctx)
    assert expect(ctx.records)


def test_unknown_config_key_is_refused_with_a_suggestion():
    mod = bundle_module("bundle")
    with pytest.raises(BadInput, match="did you mean .lape."):
        mod.HtnetEsaat(lapee=True)


@pytest.mark.parametrize("profile, size, tokens", [("paper", 28, 1), ("wide", 112, 16)])
def test_published_and_wide_geometries_run_end_to_end_at_toy_width(monkeypatch, tmp_path, profile, size, tokens):
    """`paper` (HTNet's 28 px, patch 7: one token per attention call) and `wide` (112 px, 16 tokens), three levels
    and 14 attention layers, per-pixel denoiser, with toy widths and steps: shapes, selection (6 of 14 removed)
    and prediction all work."""
    mod = bundle_module("bundle")
    rng = np.random.default_rng(1)
    train = TrainSet(_samples((6, 3, 3), True), CLASSES)
    test = api.TestSet(_samples((1, 1, 1), False, start=100), CLASSES)
    mosaics = {s.sample_id: _mosaic(i % 3, rng, size=size) for i, s in enumerate([*train, *test])}
    monkeypatch.setattr(mod.HtnetEsaat, "_inputs", lambda self, samples, context: (
        np.stack([mosaics[s.sample_id] for s in samples]), np.ones(len(samples), dtype=bool)))
    cfg = yaml.safe_load((BUNDLE / "bundle.yaml").read_text())["profiles"][profile]
    cfg.update(dim=4, heads=1, epochs=2, finetune_epochs=1, batch_size=8, diffusion_T=3,
               diffusion_train_steps=2, diffusion_width=8, diffusion_batch_size=4)
    ctx = Context(classes=CLASSES, protocol="casme3-3class", phase=None, fold="sub0", seed=0, device="cpu",
                  profile=profile, config={}, cache_dir=tmp_path / "cache", work_dir=tmp_path / "work")
    model = mod.HtnetEsaat(**cfg)
    model.fit(train, ctx)
    r = ctx.records
    assert r["details"]["attention_layers"] == 14 and r["layers_removed"] == 6 and r["tokens_per_attention"] == tokens
    assert r["generated_total"] == 6 and r["n_params"] < r["n_params_before"]
    assert model.predict(test, ctx).proba.shape == (3, 3)


def test_paper_profile_is_htnets_training_without_test_fold_selection():
    """The published training (main_HTNet.py) at fixed epochs: nothing in the profile can pick an epoch."""
    profiles = yaml.safe_load((BUNDLE / "bundle.yaml").read_text())["profiles"]
    paper = bundle_module("bundle").Config.from_dict(profiles["paper"])
    assert (paper.image_size, paper.patch_size, paper.dim, paper.heads, paper.depths) == (28, 7, 256, 3, (2, 2, 10))
    assert (paper.optimizer, paper.lr, paper.batch_size, paper.epochs) == ("adam", 5e-5, 256, 800)
    assert paper.inputs == "htnet" and not paper.standardise and paper.class_weighting == "none"
    with pytest.raises(BadInput, match="early_stopping"):  # no epoch selection path exists: fixed epochs only
        bundle_module("bundle").Config.from_dict({**profiles["paper"], "early_stopping": True})
    with pytest.raises(ValueError, match="image_size must be 28"):
        bundle_module("bundle").Config.from_dict({**profiles["paper"], "image_size": 32})
