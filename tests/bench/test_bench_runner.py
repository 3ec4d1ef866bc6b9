"""Side-by-side benchmarks of the runner: CLI start-up, and fold-batched vs fold-by-fold LOSO training (a toy
MLP and System 1's transformer).

Run with `make bench` (pytest -m bench --benchmark-enable); each group compares ours with the obvious
alternative in the same run.
"""
from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.bench
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.benchmark(group="startup: harness --help vs import torch")
@pytest.mark.parametrize("command", [
    ["-m", "harness.cli.main", "--help"],
    ["-c", "import torch"],
], ids=["harness --help", "python -c 'import torch'"])
def test_startup(benchmark, command):
    benchmark.pedantic(lambda: subprocess.run([sys.executable, *command], cwd=REPO, check=True,
                                              capture_output=True), rounds=5, iterations=1)


def _loso_problem(n_subjects: int = 12, per_subject: int = 20, seed: int = 0):
    """Labels from the first two features of each sample; subjects in equal blocks."""
    rng = np.random.default_rng(seed)
    n = n_subjects * per_subject
    signal = rng.normal(size=(n, 2)).astype(np.float32)
    y = ((signal[:, 0] > 0).astype(int) + (signal[:, 1] > 0.7)).astype(np.int64)
    groups = np.repeat(np.arange(n_subjects), per_subject)
    return signal, rng, y, np.stack([groups != g for g in range(n_subjects)]), [f"s{g}" for g in range(n_subjects)]


def _toy_mlp(signal, rng, k: int):
    """A two-layer MLP on 16 features."""
    import torch

    x = np.concatenate([signal, rng.normal(size=(len(signal), 14)).astype(np.float32)], axis=1)
    def make(batched: bool = False):
        return torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.GELU(), torch.nn.LayerNorm(64),
                                   torch.nn.Linear(64, k))

    return make, [x]


def _fullseq(signal, rng, k: int):
    """System 1's quick-profile transformer on (16 steps x 17 regions x 2) sequences of varying length."""
    from .test_bench_training import bundle_module, fullseq_factory

    _, config = bundle_module("submissions/fullseq-transformer", "model")
    steps, regions = config["max_len"], 17
    x = rng.normal(scale=0.1, size=(len(signal), steps, regions, 2)).astype(np.float32)
    x[:, :, 0, :] += signal[:, None, :]
    valid = np.arange(steps)[None, :] < rng.integers(4, steps + 1, size=len(signal))[:, None]

    build = fullseq_factory(k, steps)

    def make(batched: bool = False):  # as the system builds it: explicit attention under vmap
        model = build()
        return model.use_explicit_attention() if batched else model

    return make, [x * valid[..., None, None], valid]


MODELS = {"toy MLP": (_toy_mlp, 10), "fullseq-transformer": (_fullseq, 3)}


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("mode", ["fold-by-fold", "fold-batched"])
def test_fold_batched_vs_fold_by_fold(benchmark, mode, model, tmp_path):
    import torch

    from harness.api import Context
    from harness.kit.nn.batched import build_model, fit_folds
    from harness.kit.nn.training import TrainConfig, fit, predict_proba

    benchmark.group = f"LOSO training of a {model}: fold-batched vs fold-by-fold (12 folds, 1 thread)"
    torch.set_num_threads(1)
    signal, rng, y, masks, folds = _loso_problem()
    builder, epochs = MODELS[model]
    make, inputs = builder(signal, rng, 3)
    cfg = TrainConfig(epochs=epochs, batch_size=32, lr=5e-3)

    def by_fold():
        out = []
        for f, name in enumerate(folds):
            ctx = Context(("a", "b", "c"), "p", None, name, 0, "cpu", "quick", {}, tmp_path, tmp_path)
            m = build_model(make, 0)
            fit(m, [x[masks[f]] for x in inputs], y[masks[f]], cfg, ctx)
            out.append(predict_proba(m, [x[~masks[f]] for x in inputs], "cpu"))
        return out

    def batched():
        rngs = [np.random.default_rng([0, zlib.crc32(n.encode()), 101]) for n in folds]
        st = fit_folds(lambda: make(batched=True), inputs, y, masks, cfg, rngs, "cpu", 3, 0)
        return [st.predict_proba(f, [x[~masks[f]] for x in inputs], "cpu") for f in range(len(folds))]

    result = benchmark.pedantic(by_fold if mode == "fold-by-fold" else batched, rounds=3, iterations=1)
    reference = by_fold() if mode == "fold-batched" else batched()
    assert max(np.abs(a - b).max() for a, b in zip(result, reference)) < 1e-4
