"""The model's input: HTNet's four-region mosaic of onset→apex flow (u, v, optical strain), from the shared
preprocessing (`context.preprocess`); nothing here computes flow, landmarks or alignment itself.

HTNet (methods.md §1.1) crops a half-side patch around each of the two eyes and the two mouth corners of the
onset→apex u/v/strain map and tiles them 2×2 (eyes on top). `harness.preprocess.regions.htnet_mosaic` does
exactly that on the aligned face, with the regions located from the face-mesh landmarks; the apex is the
annotated one, or spotted by the preprocessing where there is none (SMIC) or it is hidden.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def flow_mosaics(samples: Sequence, context, size: int, backend: str = "dis",
                 params: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3, size, size) float32 mosaics (u, v, strain) and an (N,) bool mask of samples that had a face.

    Samples without a face get an all-zero mosaic (no motion) and `False` in the mask; the caller decides
    (training drops them, prediction still predicts them). The count is recorded by the preprocessing.
    """
    from harness.preprocess.config import FlowConfig
    from harness.preprocess.regions import htnet_mosaic

    pre = context.preprocess
    flow_cfg = FlowConfig(backend, size=int(size), params=dict(params or {}))

    def one(sample) -> np.ndarray:
        r = pre.onset_apex_flow(sample, flow=flow_cfg)
        return np.ascontiguousarray(htnet_mosaic(r.uvs(), r.landmarks).transpose(2, 0, 1), dtype=np.float32)

    batch = pre.map(samples, one, on_no_face="skip", context=context)
    out = np.zeros((len(samples), 3, size, size), dtype=np.float32)
    ok = np.zeros(len(samples), dtype=bool)
    if len(batch):
        out[list(batch.positions)] = np.stack(batch.values)
        ok[list(batch.positions)] = True
    return out, ok
