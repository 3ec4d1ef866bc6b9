"""Dense optical flow backends (a registry: TV-L1, Farneback, DIS) and flow-map resizing.

Every backend takes two 8-bit gray images and returns an (H, W, 2) float32 field (u, v) in pixels: the
forward displacement of each pixel of the first image. The algorithms are OpenCV's; this module only names
their parameters, keeps one solver object per process and parameter set, and resizes maps.
Nothing heavy is imported until a flow is computed.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from harness.registry import Registry


@dataclass(frozen=True)
class FlowBackend:
    """A flow algorithm: its tunable parameters with defaults, and the function that runs it."""

    name: str
    defaults: Mapping[str, Any]   # every accepted parameter; None means "the algorithm's own default"
    choices: Mapping[str, tuple]  # allowed values of categorical parameters
    compute: Callable[[np.ndarray, np.ndarray, Mapping[str, Any]], np.ndarray]
    summary: str
    types: Mapping[str, type] = field(default_factory=dict)  # types of parameters whose default is None


BACKENDS: Registry[FlowBackend] = Registry("flow backend")
_local = threading.local()  # solver objects are not shared between threads


def _solver(key: tuple, make: Callable[[], Any]) -> Any:
    cache = getattr(_local, "solvers", None)
    if cache is None:
        cache = _local.solvers = {}
    if key not in cache:
        cache[key] = make()
    return cache[key]


# --- DIS (Kroeger et al. 2016): fast patch-based inverse search plus variational refinement -------------------
_DIS_SETTERS = {
    "finest_scale": "setFinestScale", "patch_size": "setPatchSize", "patch_stride": "setPatchStride",
    "gradient_descent_iterations": "setGradientDescentIterations",
    "variational_refinement_iterations": "setVariationalRefinementIterations",
    "variational_refinement_alpha": "setVariationalRefinementAlpha",
    "variational_refinement_delta": "setVariationalRefinementDelta",
    "variational_refinement_gamma": "setVariationalRefinementGamma",
    "use_mean_normalization": "setUseMeanNormalization",
    "use_spatial_propagation": "setUseSpatialPropagation",
}


def _dis(a: np.ndarray, b: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    import cv2

    def make():
        presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                   "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
        dis = cv2.DISOpticalFlow_create(presets[p["preset"]])
        for name, setter in _DIS_SETTERS.items():
            if p.get(name) is not None:
                getattr(dis, setter)(p[name])
        return dis

    dis = _solver(("dis", tuple(sorted(p.items()))), make)
    return dis.calc(a, b, None)


# --- Farneback (2003): polynomial expansion; HTNet's CAS(ME)^3 code and He et al. use it -------------------------
def _farneback(a: np.ndarray, b: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    import cv2

    return cv2.calcOpticalFlowFarneback(a, b, None, p["pyr_scale"], p["levels"], p["winsize"], p["iterations"],
                                        p["poly_n"], p["poly_sigma"], p["flags"])


# --- TV-L1 (Zach et al. 2007; Sanchez et al. IPOL 2013): the MER field's standard (STSTNet, HTNet inputs) ----------
def _tvl1(a: np.ndarray, b: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    import cv2

    def make():
        return cv2.optflow.DualTVL1OpticalFlow_create(
            tau=p["tau"], lambda_=p["lambda"], theta=p["theta"], nscales=p["nscales"], warps=p["warps"],
            epsilon=p["epsilon"], innnerIterations=p["inner_iterations"], outerIterations=p["outer_iterations"],
            scaleStep=p["scale_step"], gamma=p["gamma"], medianFiltering=p["median_filtering"],
            useInitialFlow=False)

    tvl1 = _solver(("tvl1", tuple(sorted(p.items()))), make)
    return tvl1.calc(a, b, None)


BACKENDS.register("dis", FlowBackend(
    "dis",
    # The "medium" preset as OpenCV defines it. finest_scale=0 (refine at full resolution) lowers the endpoint
    # error by about a third on 128 px faces for 3-8x the time (README), hence not the default.
    {"preset": "medium", **{name: None for name in _DIS_SETTERS}},
    {"preset": ("ultrafast", "fast", "medium")},
    _dis,
    "OpenCV DIS (dense inverse search); presets ultrafast/fast/medium, each setting overridable",
    {"finest_scale": int, "patch_size": int, "patch_stride": int, "gradient_descent_iterations": int,
     "variational_refinement_iterations": int, "variational_refinement_alpha": float,
     "variational_refinement_delta": float, "variational_refinement_gamma": float,
     "use_mean_normalization": bool, "use_spatial_propagation": bool}))
BACKENDS.register("farneback", FlowBackend(
    "farneback",
    # OpenCV's tutorial values, used by HTNet's CAS(ME)^3 code and MEB's MDMO.
    {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2, "flags": 0},
    {},
    _farneback,
    "OpenCV Farneback polynomial-expansion flow"))
BACKENDS.register("tvl1", FlowBackend(
    "tvl1",
    # OpenCV-contrib DualTVL1 defaults (shared/reference/methods.md §8).
    {"tau": 0.25, "lambda": 0.15, "theta": 0.3, "nscales": 5, "warps": 5, "epsilon": 0.01,
     "inner_iterations": 30, "outer_iterations": 10, "scale_step": 0.8, "gamma": 0.0, "median_filtering": 5},
    {},
    _tvl1,
    "OpenCV-contrib dual TV-L1; slow (see README), the MER literature's usual choice"))


def _gray_u8(image: np.ndarray, what: str) -> np.ndarray:
    from harness.errors import BadInput

    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 3:
        import cv2

        img = cv2.cvtColor(np.ascontiguousarray(img, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    if img.ndim != 2 or img.dtype != np.uint8:
        raise BadInput(f"{what} must be a uint8 gray (H, W) or RGB (H, W, 3) image, got {img.dtype} {img.shape}")
    return np.ascontiguousarray(img)


def compute_flow(a: np.ndarray, b: np.ndarray, backend: str = "dis", params: Mapping[str, Any] | None = None) -> np.ndarray:
    """Forward flow from image `a` to image `b`: (H, W, 2) float32, u (x) then v (y), in pixels of `a`.

    `params` are the backend's resolved parameters (see `FlowConfig.resolved()`); missing ones take defaults.
    """
    from harness.errors import BadInput

    be = BACKENDS.get(backend)
    a8, b8 = _gray_u8(a, "first image"), _gray_u8(b, "second image")
    if a8.shape != b8.shape:
        raise BadInput(f"flow needs two images of the same size, got {a8.shape} and {b8.shape}")
    p = {**be.defaults, **(params or {})}
    return np.asarray(be.compute(a8, b8, p), dtype=np.float32)


def resize_flow(flow: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize an (H, W, 2) flow map to `size` (side, or (h, w)) and rescale its vectors to the new pixels.

    Shrinking averages (area interpolation), so a 28-pixel map is the mean motion of each cell, not an alias.
    """
    import cv2

    h, w = flow.shape[:2]
    th, tw = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    if (th, tw) == (h, w):
        return flow.astype(np.float32, copy=False)
    interp = cv2.INTER_AREA if th < h or tw < w else cv2.INTER_LINEAR
    out = cv2.resize(np.ascontiguousarray(flow, dtype=np.float32), (tw, th), interpolation=interp)
    out[..., 0] *= tw / w
    out[..., 1] *= th / h
    return out


def endpoint_error(flow: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean endpoint error |flow - truth| (pixels), optionally over a boolean mask."""
    err = np.linalg.norm(np.asarray(flow, np.float64) - np.asarray(truth, np.float64), axis=-1)
    return float(err[mask].mean() if mask is not None else err.mean())
