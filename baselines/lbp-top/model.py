"""LBP-TOP + linear SVM (Zhao & Pietikainen, TPAMI 2007; the MER baseline since SMIC and CASME II).

The aligned face clip (onset -> offset, shared preprocessing) is resampled to a fixed number of frames (by the
temporal interpolation model by default, `harness.preprocess.temporal.tim`), described by uniform LBP-TOP
histograms per block (`lbptop.py`), and classified by the shared linear SVM stage (`harness.kit.svm`). Every
parameter and its source: README.md.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from harness.kit.svm import FeatureSvm, SvmConfig
from harness.api import BadInput, split_config

from .lbptop import LbpTopParams, lbp_top


@dataclass(frozen=True)
class ClipConfig:
    """frames: length every clip is resampled to; temporal: how ("tim", the temporal interpolation model of the
    SMIC/CASME II/MEGC2019 baselines, or "linear"); face_size: side of the aligned face."""

    frames: int = 10
    temporal: str = "tim"
    face_size: int = 128

    def __post_init__(self) -> None:
        from harness.kit.preprocessing import TEMPORAL_METHODS as METHODS

        if self.temporal not in METHODS:
            raise ValueError(f"temporal must be one of {tuple(METHODS)}, got {self.temporal!r}")


class LbpTopSvm(FeatureSvm):
    feature_kind = "feature_lbptop"
    feature_version = "1"

    def __init__(self, **config: Any):
        self.params, self.clip, svm = split_config(config, LbpTopParams, ClipConfig, SvmConfig)
        if self.clip.frames < self.params.min_frames():
            raise BadInput(f"frames={self.clip.frames} is too few for radius_t={self.params.radius_t} and "
                           f"time_blocks={self.params.time_blocks}: need at least {self.params.min_frames()}")
        super().__init__(svm)

    def _face(self):
        from harness.kit.preprocessing import FaceConfig

        return FaceConfig(size=self.clip.face_size)

    def feature_identity(self, sample) -> dict[str, Any]:
        from harness.kit.preprocessing import canonical

        return {"frame_indices": list(sample.frame_indices), "onset": sample.onset, "face": canonical(self._face()),
                "frames": self.clip.frames, "temporal": self.clip.temporal, "lbptop": asdict(self.params)}

    def extract(self, sample, context) -> np.ndarray:
        from harness.kit.preprocessing import temporal_normalise

        clip = context.preprocess.aligned_clip(sample, self._face(), gray=True)
        return lbp_top(temporal_normalise(clip, self.clip.frames, method=self.clip.temporal), self.params)
