"""Inference latency per clip, measured the same way for every neural bundle (reported with the run)."""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np


def latency_per_clip_ms(model, example_inputs: Sequence[np.ndarray], device: str, repeats: int = 5) -> float:
    """Median wall time of a forward pass on ONE clip (batch of 1), after a warm-up pass."""
    import torch

    model.eval()
    one = [torch.as_tensor(x[:1]).to(device) for x in example_inputs]
    times = []
    with torch.no_grad():
        model(*one)
        for _ in range(repeats):
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(*one)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))
