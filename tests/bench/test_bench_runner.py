"""Side-by-side benchmarks of the runner: CLI start-up, and fold-batched vs fold-by-fold LOSO training.

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


def _loso_problem(n_subjects: int = 12, per_subject: int = 20, dim: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = n_subjects * per_subject
    x = rng.normal(size=(n, dim)).astype(np.float32)
    y = ((x[:, 0] > 0).astype(int) + (x[:, 1] > 0.7)).astype(np.int64)
    groups = np.repeat(np.arange(n_subjects), per_subject)
    return x, y, np.stack([groups != g for g in range(n_subjects)]), [f"s{g}" for g in range(n_subjects)]


def _make_model(dim: int = 16, k: int = 3):
    import torch

    return lambda: torch.nn.Sequential(torch.nn.Linear(dim, 64), torch.nn.GELU(), torch.nn.LayerNorm(64),
                                       torch.nn.Linear(64, k))


@pytest.mark.benchmark(group="LOSO training: fold-batched vs fold-by-fold (12 folds, 1 thread)")
@pytest.mark.parametrize("mode", ["fold-by-fold", "fold-batched"])
def test_fold_batched_vs_fold_by_fold(benchmark, mode, tmp_path):
    import torch

    from harness.api import Context
    from harness.nn.batched import build_model, fit_folds
    from harness.nn.training import TrainConfig, fit, predict_proba

    torch.set_num_threads(1)
    x, y, masks, folds = _loso_problem()
    cfg = TrainConfig(epochs=10, batch_size=32, lr=5e-3)
    make = _make_model()

    def by_fold():
        out = []
        for f, name in enumerate(folds):
            ctx = Context(("a", "b", "c"), "p", None, name, 0, "cpu", "quick", {}, tmp_path, tmp_path)
            m = build_model(make, 0)
            fit(m, [x[masks[f]]], y[masks[f]], cfg, ctx)
            out.append(predict_proba(m, [x[~masks[f]]], "cpu"))
        return out

    def batched():
        rngs = [np.random.default_rng([0, zlib.crc32(n.encode()), 101]) for n in folds]
        st = fit_folds(make, [x], y, masks, cfg, rngs, "cpu", 3, 0)
        return [st.predict_proba(f, [x[~masks[f]]], "cpu") for f in range(len(folds))]

    result = benchmark.pedantic(by_fold if mode == "fold-by-fold" else batched, rounds=3, iterations=1)
    reference = by_fold() if mode == "fold-batched" else batched()
    assert max(np.abs(a - b).max() for a, b in zip(result, reference)) < 1e-4
