"""The model's input: HTNet's four-region mosaic of onset→apex flow, from the shared preprocessing
(`context.preprocess`); nothing here computes flow, landmarks or alignment itself.

HTNet (methods.md §1.1) crops a half-side patch around each of the two eyes and the two mouth corners of an
onset→apex flow map and tiles them 2×2. Two recipes (`INPUTS`, the config key `inputs`):

- "htnet": HTNet's published input, quirks kept. Per dataset, as its code computes it: CAS(ME)^3 — Farneback flow
  (its parameters, our defaults) on a 28 px face, channels u, v and flow **magnitude**
  (`HTNet_for_three_datasets_confusion_matrix.py`); every other dataset — TV-L1 flow on the face, resized to
  28 px, channels u, v and optical **strain** (STSTNet's composite images; HTNet never saw DFME, which gets this
  recipe too [ours]). Each channel of each sample is min-max scaled to 0–255 and rounded (the 8-bit PNG / the
  `cv2.normalize(NORM_MINMAX)` HTNet reads), and the patches are cut as `main_HTNet.py` cuts them: the region
  centres clipped to [7, 21] and truncated to int, the **x coordinate used as the row index** (the crop is
  transposed against the landmark), tiled [[eye, eye], [mouth corner, mouth corner]] in MTCNN's order
  (image-left first). Not standardised: HTNet feeds the 0–255 values.
- "wide" [ours]: u, v, strain of the bundle's `flow_backend` at `image_size`, cut by the shared
  `harness.preprocess.regions.htnet_mosaic` (each patch centred on its region, eyes on top), standardised by the
  bundle with the training fold's statistics. The geometry of the wider-input deviation profiles.

The regions come from the face-mesh landmarks (`harness.preprocess.regions.HTNET_REGIONS`) instead of MTCNN's
five points; the apex is the annotated one, or spotted by the preprocessing where there is none (SMIC) or it is
hidden.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

#: HTNet's crop clips region centres to [HALF, side - HALF] of its 28 px map: 14 px patches.
HTNET_SIDE = 28


@dataclass(frozen=True)
class FlowRecipe:
    """How one dataset's published input is made: flow backend, the face side it runs on, the third channel."""

    backend: str
    face_size: int
    third: str  # "strain" | "magnitude"


#: HTNet's per-dataset inputs (methods.md §1.1); "default" covers every dataset not named.
HTNET_RECIPES: Mapping[str, FlowRecipe] = {
    "casme3": FlowRecipe("farneback", HTNET_SIDE, "magnitude"),
    "default": FlowRecipe("tvl1", 128, "strain"),
}


def minmax_255(channels: np.ndarray) -> np.ndarray:
    """(H, W, C) -> each channel min-max scaled to 0..255 and rounded (an 8-bit image); a flat channel is 0."""
    lo = channels.min(axis=(0, 1), keepdims=True)
    span = channels.max(axis=(0, 1), keepdims=True) - lo
    scaled = np.where(span > 0, (channels - lo) * (255.0 / np.where(span > 0, span, 1.0)), 0.0)
    return np.rint(scaled).astype(np.float32)


def htnet_published_mosaic(array: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """`main_HTNet.py`'s four-patch mosaic of an (S, S, C) map: centres clipped to [S/4, 3S/4] and truncated,
    patch = array[c_x - S/4 : c_x + S/4, c_y - S/4 : c_y + S/4] (x as the row index), tiled 2×2."""
    from harness.kit.preprocessing import HTNET_REGIONS, region_centers

    side = array.shape[0]
    half = side // 4
    centres = np.clip(region_centers(landmarks, HTNET_REGIONS), half, side - half).astype(int)
    p = [array[cx - half:cx + half, cy - half:cy + half] for cx, cy in centres]
    return np.concatenate([np.concatenate([p[0], p[1]], axis=1), np.concatenate([p[2], p[3]], axis=1)], axis=0)


def _htnet_one(size: int, backend: str, params: Mapping[str, Any]) -> Callable:
    from harness.kit.preprocessing import FaceConfig, FlowConfig

    if size != HTNET_SIDE:
        raise ValueError(f"inputs 'htnet' is HTNet's {HTNET_SIDE} px input: set image_size {HTNET_SIDE}, got {size}")

    def one(pre, sample) -> np.ndarray:
        recipe = HTNET_RECIPES.get(sample.dataset, HTNET_RECIPES["default"])
        r = pre.onset_apex_flow(sample, flow=FlowConfig(recipe.backend, size=HTNET_SIDE),
                                face=FaceConfig(size=recipe.face_size))
        third = r.strain if recipe.third == "strain" else np.hypot(r.u, r.v)
        return htnet_published_mosaic(minmax_255(np.dstack([r.flow, third])), r.landmarks)

    return one


def _wide_one(size: int, backend: str, params: Mapping[str, Any]) -> Callable:
    from harness.kit.preprocessing import FlowConfig
    from harness.kit.preprocessing import htnet_mosaic

    flow_cfg = FlowConfig(backend, size=int(size), params=dict(params))

    def one(pre, sample) -> np.ndarray:
        r = pre.onset_apex_flow(sample, flow=flow_cfg)
        return htnet_mosaic(r.uvs(), r.landmarks)

    return one


#: input recipe -> builder(size, flow_backend, flow_params) of the per-sample (S, S, 3) mosaic function
INPUTS: Mapping[str, Callable] = {"htnet": _htnet_one, "wide": _wide_one}


def flow_mosaics(samples: Sequence, context, size: int, backend: str = "dis",
                 params: dict[str, Any] | None = None, recipe: str = "wide") -> tuple[np.ndarray, np.ndarray]:
    """(N, 3, size, size) float32 mosaics and an (N,) bool mask of samples that had a face.

    Samples without a face get an all-zero mosaic (no motion) and `False` in the mask; the caller decides
    (training drops them, prediction still predicts them). The count is recorded by the preprocessing.
    """
    if recipe not in INPUTS:
        raise ValueError(f"inputs must be one of {tuple(INPUTS)}, got {recipe!r}")
    pre = context.preprocess
    mosaic = INPUTS[recipe](int(size), backend, dict(params or {}))

    def one(sample) -> np.ndarray:
        return np.ascontiguousarray(mosaic(pre, sample).transpose(2, 0, 1), dtype=np.float32)

    batch = pre.map(samples, one, on_no_face="skip", context=context)
    out = np.zeros((len(samples), 3, size, size), dtype=np.float32)
    ok = np.zeros(len(samples), dtype=bool)
    if len(batch):
        out[list(batch.positions)] = np.stack(batch.values)
        ok[list(batch.positions)] = True
    return out, ok
