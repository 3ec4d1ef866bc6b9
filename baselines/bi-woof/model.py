"""Bi-WOOF + linear SVM (Liong, See, Wong & Phan, Signal Processing: Image Communication 62:82-92, 2018).

Onset -> apex optical flow and optical strain on the aligned face (shared preprocessing; the apex is spotted
where none is annotated, e.g. SMIC), Bi-WOOF histograms (`biwoof.py`), and the shared linear SVM stage
(`harness.kit.svm`). Every parameter and its source: README.md.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from harness.api import split_config
from harness.kit.svm import FeatureSvm, SvmConfig

from .biwoof import BiWoofParams, biwoof


@dataclass(frozen=True)
class FlowInput:
    """flow_backend / flow_params / flow_size: the shared FlowConfig (size None = the face size).
    face_size: side of the aligned face the flow is computed on."""

    flow_backend: str = "dis"
    flow_params: dict = field(default_factory=dict)
    flow_size: int | None = None
    face_size: int = 128


class BiWoofSvm(FeatureSvm):
    feature_kind = "feature_biwoof"
    feature_version = "1"

    def __init__(self, **config: Any):
        self.params, self.input, svm = split_config(config, BiWoofParams, FlowInput, SvmConfig)
        self._configs()  # validate the flow settings now, not in the first fold's first sample
        super().__init__(svm)

    def _configs(self):
        from harness.kit.preprocessing import FaceConfig, FlowConfig

        return (FaceConfig(size=self.input.face_size),
                FlowConfig(self.input.flow_backend, size=self.input.flow_size, params=dict(self.input.flow_params)))

    def feature_identity(self, sample) -> dict[str, Any]:
        from harness.kit.preprocessing import SpotConfig
        from harness.kit.preprocessing import canonical

        face, flow = self._configs()
        return {"frame_indices": list(sample.frame_indices), "onset": sample.onset, "apex": sample.apex,
                "face": canonical(face), "flow": canonical(flow), "spot": canonical(SpotConfig()),
                "biwoof": asdict(self.params)}

    def extract(self, sample, context) -> np.ndarray:
        face, flow = self._configs()
        oa = context.preprocess.onset_apex_flow(sample, flow, face)
        return biwoof(oa.flow, oa.strain, self.params)
