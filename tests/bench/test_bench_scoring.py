"""Side-by-side benchmarks on the SAME 1,000,000-row arrays (K = 7).

* group `metrics-1M`: our `confusion` + `summary` against scikit-learn's `f1_score(average='macro')` +
  `recall_score(average='macro')` + `accuracy_score`;
* group `parse-1M`: `parse_predictions` of a 1M-row predictions.csv (template order, shuffled, with the seven
  p_ columns) against the exact row-by-row reader it falls back to.

Every benchmark asserts that its numbers agree. Run: `make bench` (or
`pytest -m bench --benchmark-enable -p no:xdist tests/bench`).
"""
from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score

from harness.scoring.metrics import confusion, summary
from harness.scoring.predictions import parse_predictions

pytestmark = pytest.mark.bench

N, K = 1_000_000, 7
CLASSES = ["anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise"]


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(20240530)
    y_true = rng.integers(0, K, N)
    y_pred = np.where(rng.random(N) < 0.45, y_true, rng.integers(0, K, N))
    return y_true, y_pred


@pytest.fixture(scope="module")
def reference(arrays):
    y_true, y_pred = arrays
    return (f1_score(y_true, y_pred, average="macro"), recall_score(y_true, y_pred, average="macro"),
            accuracy_score(y_true, y_pred))


def ours(y_true, y_pred):
    s = summary(confusion(y_true, y_pred, K))
    return float(s["uf1"]), float(s["uar"]), float(s["acc"])


def sklearn_three(y_true, y_pred):
    return (f1_score(y_true, y_pred, average="macro"), recall_score(y_true, y_pred, average="macro"),
            accuracy_score(y_true, y_pred))


@pytest.mark.benchmark(group="metrics-1M")
def test_metrics_ours(benchmark, arrays, reference):
    result = benchmark(ours, *arrays)
    assert result == pytest.approx(reference, abs=1e-12)


@pytest.mark.benchmark(group="metrics-1M")
def test_metrics_sklearn(benchmark, arrays, reference):
    result = benchmark.pedantic(sklearn_three, args=arrays, rounds=5, iterations=1)
    assert result == pytest.approx(reference, abs=1e-12)


def test_metrics_speedup(arrays):
    """Not a pytest-benchmark entry: the ratio itself, asserted (best of 5 each, same arrays)."""
    def best(fn):
        times = []
        for _ in range(5):
            t = time.perf_counter()
            fn(*arrays)
            times.append(time.perf_counter() - t)
        return min(times)
    t_ours, t_sk = best(ours), best(sklearn_three)
    print(f"\nmetrics on {N:,} rows: ours {t_ours * 1e3:.1f} ms, scikit-learn {t_sk * 1e3:.1f} ms, "
          f"{t_sk / t_ours:.0f}x")
    assert t_sk / t_ours > 10


# ----- parsing ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ids():
    return [f"sub{i // 10:05d}_{i % 10:02d}" for i in range(N)]


def _csv(ids, labels, order, proba=None) -> bytes:
    head = "sample_id,prediction" + ("".join(f",p_{c}" for c in CLASSES) if proba is not None else "") + "\n"
    if proba is None:
        body = "".join(f"{ids[i]},{CLASSES[labels[i]]}\n" for i in order)
    else:
        body = "".join(f"{ids[i]},{labels[i]}," + ",".join(f"{x:.6f}" for x in proba[i]) + "\n" for i in order)
    return (head + body).encode()


@pytest.fixture(scope="module")
def files(arrays, ids):
    _, y_pred = arrays
    rng = np.random.default_rng(1)
    proba = np.full((N, K), 0.05)
    proba[np.arange(N), y_pred] = 0.7
    return {"template order": _csv(ids, y_pred, range(N)),
            "shuffled": _csv(ids, y_pred, rng.permutation(N)),
            "with p_ columns": _csv(ids, y_pred, range(N), proba)}


@pytest.mark.benchmark(group="parse-1M")
@pytest.mark.parametrize("variant", ["template order", "shuffled", "with p_ columns"])
def test_parse_fast(benchmark, files, ids, arrays, variant):
    preds = benchmark.pedantic(parse_predictions, args=(files[variant], "bench.csv", ids, CLASSES),
                               rounds=3, iterations=1)
    assert (preds.pred == arrays[1]).all()
    if variant == "with p_ columns":
        assert (preds.proba.argmax(axis=1) == arrays[1]).all()


@pytest.mark.benchmark(group="parse-1M")
def test_parse_exact_reader(benchmark, files, ids, arrays):
    preds = benchmark.pedantic(parse_predictions, args=(files["shuffled"], "bench.csv", ids, CLASSES),
                               kwargs={"fast": False}, rounds=2, iterations=1)
    assert (preds.pred == arrays[1]).all()


def test_scoring_a_million_rows_end_to_end(files, ids, arrays):
    """Parse + metrics of a 1M-row file, the path `harness score` takes before its bootstrap."""
    y_true, y_pred = arrays
    t = time.perf_counter()
    preds = parse_predictions(files["template order"], "bench.csv", ids, CLASSES)
    uf1, uar, acc = ours(y_true, preds.pred)
    elapsed = time.perf_counter() - t
    print(f"\nparse + metrics of {N:,} rows: {elapsed:.2f} s")
    assert (uf1, uar, acc) == pytest.approx(sklearn_three(y_true, y_pred), abs=1e-12)
