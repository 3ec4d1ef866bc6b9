"""Shared, cached preprocessing: faces, aligned clips, optical flow, strain, regions, apex spotting.

Every baseline and system starts from the same facial motion signals, built once and cached on disk.
Bundles get a `Preprocessor` as `context.preprocess` (cache under `context.cache_dir`).

Configs (frozen, validated; every field is part of the cache key)
    FaceConfig(size=128, margin=0.1, drift="translation", drift_iterations=2, detect_tries=3)
    FlowConfig(backend="dis", size=None, params={})        # backends: "dis" | "farneback" | "tvl1"
    SpotConfig(face=FaceConfig(size=64), flow=FlowConfig("dis", params={"preset": "medium"}), smooth=3, top_p=0.3)

Preprocessor(cache_dir=None, *, on_no_face="fail", use_cache=True, threads=None)
    landmarks(sample, frame=None) -> (478, 2) float32            frame pixels, MediaPipe face mesh
    face(sample, face=FaceConfig()) -> Face                       one similarity per clip, from the onset frame
    track(sample, face=FaceConfig()) -> FaceTrack                 per-frame warps, drift-corrected
    aligned_clip(sample, face=..., *, gray=True, n=None) -> (T, S, S) | (T, S, S, 3) uint8
    flow(sample, frame_a, frame_b, flow=FlowConfig(), face=...) -> (H, W, 2) float32
    onset_apex_flow(sample, flow=..., face=..., spot=SpotConfig()) -> OnsetApexFlow   (u, v, strain, landmarks)
    flow_sequence(sample, mode="from_onset", flow=..., face=..., spot=...) -> FlowSequence
        modes: "onset_apex", "from_onset" (onset -> every frame), "consecutive"
    region_motion(sample, regions=AU_REGIONS, flow=..., face=..., top_p=0.3, global_p=0.7, rate=None, n=None)
        -> RegionMotion (values (T, R, 2): robust mean flow per region minus nose motion)
    spot_apex(sample, spot=SpotConfig()) -> int                   frame of peak facial-region motion
    apex_frame(sample, spot=...) -> (frame, spotted)              annotated apex, else spotted
    map(samples, fn, *, on_no_face=None, context=None) -> Batch   no-face policy "skip" | "fail"
    strain(flow), temporal_normalise(array, n)                    pure helpers (also in .strain / .temporal)

Frames are annotation frame numbers everywhere (`Sample.frame_indices`). Clip-level results cover the frames
from the onset to the last one. When `sample.apex` is None (SMIC, or hidden by the protocol), every onset->apex
helper spots it with `spot_apex` and says so (`OnsetApexFlow.apex_spotted`).

Regions: `harness.preprocess.regions` holds every named landmark set (AU_REGIONS, HTNET_REGIONS, nose bridge)
and helpers to turn them into masks, boxes, patches and HTNet's 2x2 mosaic for any map whose landmarks you have
(each result carries landmarks in its own pixels).

No face: `NoFaceError(sample_id, frame)`; `Preprocessor.map(..., on_no_face="skip")` leaves such samples out,
counts them and records the count in the run (`context.records`). Never a silent zero.

Heavy libraries (OpenCV, MediaPipe) are imported only when a result is computed. See README.md for measured
speed and accuracy of each flow backend and the cache.
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "Preprocessor", "Batch", "FaceConfig", "FlowConfig", "SpotConfig", "NoFaceError",
    "Face", "FaceTrack", "OnsetApexFlow", "FlowSequence", "RegionMotion",
    "AU_REGIONS", "HTNET_REGIONS", "REGIONS", "FLOW_MODES", "KINDS",
]

_LAZY = {
    "Preprocessor": "harness.preprocess.preprocessor", "Batch": "harness.preprocess.preprocessor",
    "FLOW_MODES": "harness.preprocess.preprocessor", "KINDS": "harness.preprocess.cache",
    "FaceConfig": "harness.preprocess.config", "FlowConfig": "harness.preprocess.config",
    "SpotConfig": "harness.preprocess.config", "NoFaceError": "harness.preprocess.errors",
    "Face": "harness.preprocess.results", "FaceTrack": "harness.preprocess.results",
    "OnsetApexFlow": "harness.preprocess.results", "FlowSequence": "harness.preprocess.results",
    "RegionMotion": "harness.preprocess.results", "AU_REGIONS": "harness.preprocess.regions",
    "HTNET_REGIONS": "harness.preprocess.regions", "REGIONS": "harness.preprocess.regions",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'harness.preprocess' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
