"""What the scale speed-ups replaced, kept once so that the tests (equal results) and the benchmarks (side by
side timings) compare against the same code."""
from __future__ import annotations

import io
import json

import numpy as np


def zip_entry(arrays: dict, meta: dict) -> bytes:
    """A cache entry as written before raw entries: `np.savez`, the metadata as a `__meta__` byte array."""
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    return buf.getvalue()


def tim_two_steps(array: np.ndarray, n: int) -> np.ndarray:
    """TIM as computed before: coefficients on the path Laplacian's eigenvectors, then the curve at n points."""
    from harness.preprocess.temporal import _like, path_laplacian_basis

    a = np.asarray(array)
    m = a.shape[0]
    x = a.reshape(m, -1).astype(np.float64)
    mean = x.mean(axis=0)
    coefficients = path_laplacian_basis(m, np.arange(1, m + 1)).T @ (x - mean)
    out = mean + path_laplacian_basis(m, np.linspace(1.0, m, n)) @ coefficients
    return _like(out.reshape((n,) + a.shape[1:]), a.dtype)
