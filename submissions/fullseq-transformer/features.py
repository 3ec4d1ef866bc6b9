"""Local-region motion over time: one (R, 2) vector per frame, from the shared preprocessing.

He et al. (methods.md §7): aligned face with nose-based drift correction ("facial correction"), optical flow
from the first (onset) frame to every frame, and per AU-based region of interest the robust mean of its flow
(mean of the top-p vectors by magnitude) minus the global (nose) motion. All of that is
`context.preprocess.region_motion` (cached, shared with every bundle that asks for the same settings); this
module only chooses the settings and turns the per-frame series into a model sequence:

- mode "full": the whole onset..offset series, resampled to a common rate (`rate` Hz, so a step means the same
  time at 30 fps and at 500 fps), then -- if still longer than `max_len` -- linearly resampled to `max_len`
  steps so the END of a long clip is kept (the MEGC2024 code truncates at 25 steps instead);
- mode "onset_apex": exactly two steps, the onset row (zero motion by construction) and the apex row -- the
  key-frame view the paper argues against. The apex is the annotated one, or the shared spotter's where the
  release has none (SMIC).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

MODES = ("full", "onset_apex")


@dataclass(frozen=True)
class FeatureConfig:
    """Settings of the region-motion sequence (sources in the bundle README).

    mode: "full" (whole sequence) or "onset_apex" (2 steps; ablation).
    rate: common temporal rate in Hz the series is resampled to (MEGC2024 code: every 7th frame of 200 fps
        data, about 29 Hz).
    max_len: most steps after resampling; longer series are resampled down to it.
    drift: the shared preprocessing's rigid head-motion correction, measured on the nose bridge against the
        onset frame: "translation" = He et al.'s nose-based crop shift, "similarity" = the shared default (also
        removes roll and scale; the setting apex spotting uses, so its cache entries are shared), "none" = ablation.
    face_size: side of the aligned face the flow is computed on (pixels).
    flow_backend / flow_params: optical flow algorithm and its parameters (shared default: DIS "medium"; He et
        al. use Farneback, see the `paper` profile).
    top_p: fraction of each region's largest vectors averaged (MEGC2024 code: 0.2-0.3).
    global_p: fraction of the nose region's largest vectors taken as global motion (MEGC2024 code: 0.7).
    """

    mode: str = "full"
    rate: float = 30.0
    max_len: int = 16
    drift: str = "similarity"
    face_size: int = 64
    flow_backend: str = "dis"
    flow_params: Mapping[str, Any] = field(default_factory=lambda: {"preset": "medium"})
    top_p: float = 0.3
    global_p: float = 0.7

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.max_len < 2:
            raise ValueError(f"max_len must be >= 2, got {self.max_len}")
        if self.rate <= 0:
            raise ValueError(f"rate must be positive, got {self.rate}")

    @property
    def steps(self) -> int:
        """Longest sequence the model sees (2 in onset-apex mode)."""
        return 2 if self.mode == "onset_apex" else self.max_len

    def face(self):
        from harness.kit.preprocessing import FaceConfig

        return FaceConfig(size=self.face_size, drift=self.drift)

    def flow(self):
        from harness.kit.preprocessing import FlowConfig

        return FlowConfig(self.flow_backend, params=dict(self.flow_params or {}))


def shape_sequence(values: np.ndarray, fps: float, cfg: FeatureConfig, apex_position: int | None = None) -> np.ndarray:
    """(T, R, 2) per-frame motion at the source rate -> the model's (T', R, 2) sequence, T' <= cfg.steps."""
    from harness.kit.preprocessing import resample_rate, temporal_normalise

    values = np.asarray(values, dtype=np.float32)
    if cfg.mode == "onset_apex":
        if apex_position is None:
            raise ValueError("onset_apex mode needs the apex position in the series")
        return values[[0, int(apex_position)]]
    seq = resample_rate(values, fps, cfg.rate) if fps and fps > 0 else values
    if seq.shape[0] > cfg.max_len:
        seq = temporal_normalise(seq, cfg.max_len)
    return seq.astype(np.float32)


def pad_batch(seqs: Sequence[np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Zero-pad (T_i, R, 2) sequences to (N, length, R, 2), with `valid` (N, length) True on real steps."""
    if not seqs:
        raise ValueError("no sequences to pad")
    r = seqs[0].shape[1]
    x = np.zeros((len(seqs), length, r, 2), dtype=np.float32)
    valid = np.zeros((len(seqs), length), dtype=bool)
    for i, s in enumerate(seqs):
        t = min(len(s), length)
        x[i, :t] = s[:t]
        valid[i, :t] = True
    return x, valid


def sample_sequence(sample, preprocess, cfg: FeatureConfig) -> np.ndarray:
    """One sample's model sequence from the shared preprocessing (cached region motion at the source rate)."""
    from harness.kit.preprocessing import AU_REGIONS

    full = cfg.mode != "onset_apex"
    # The full sequence is resampled to cfg.rate anyway: compute only the frames nearest that grid (a 500 fps
    # DFME clip needs 1 flow in 17). Onset-apex mode needs the apex frame itself, so it keeps every frame.
    rm = preprocess.region_motion(sample, AU_REGIONS, cfg.flow(), cfg.face(), top_p=cfg.top_p,
                                  global_p=cfg.global_p, sample_rate=cfg.rate if full else None)
    apex_pos = None
    if not full:
        apex, _ = preprocess.apex_frame(sample)
        apex_pos = int(np.abs(np.asarray(rm.frame_indices) - apex).argmin())
    source_rate = min(float(sample.fps), cfg.rate) if sample.fps else sample.fps
    return shape_sequence(rm.values, source_rate, cfg, apex_pos)


def extract(samples, preprocess, cfg: FeatureConfig, context: Any = None) -> tuple[list[np.ndarray], list[int]]:
    """Sequences of the samples that have a face, and their positions (faceless clips are skipped)."""
    batch = preprocess.map(samples, lambda s: sample_sequence(s, preprocess, cfg), on_no_face="skip",
                           context=context)
    return list(batch.values), list(batch.positions)


def mirror_permutation(names: Sequence[str]) -> np.ndarray:
    """Region order of the mirrored face: each `*_right` region swaps with its `*_left` twin; midline ones stay."""
    swap = {"_right": "_left", "_left": "_right"}
    index = {n: i for i, n in enumerate(names)}
    out = []
    for n in names:
        twin = next((n[: -len(a)] + b for a, b in swap.items() if n.endswith(a)), n)
        out.append(index[twin])
    return np.array(out)


def mirror(seq: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The (T, R, 2) region motion of the horizontally mirrored face: twin regions swapped, u negated."""
    out = np.asarray(seq)[:, mirror_permutation(names)].copy()
    out[..., 0] *= -1.0
    return out


def region_names() -> tuple[str, ...]:
    from harness.kit.preprocessing import AU_REGIONS

    return tuple(AU_REGIONS)


def n_regions() -> int:
    from harness.kit.preprocessing import AU_REGIONS

    return len(AU_REGIONS)
