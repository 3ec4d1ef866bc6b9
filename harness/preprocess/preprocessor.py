"""`Preprocessor`: the cached operations bundles call (faces, aligned clips, flow, strain, regions, apex).

Each expensive result is stored under a key made of the frames' content identity (`Sample.cache_key`), the
frame numbers it used, every parameter that changes it and the code/library versions (see `cache.py`).
Operations build on each other (landmarks -> face -> track -> flow -> region motion), each level cached, so
a second bundle asking for the same face or flow with other downstream settings reuses the upstream work.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, Sequence, TypeVar

import numpy as np

from harness.errors import BadInput
from harness.preprocess import align
from harness.preprocess.cache import Cache, CacheBusy
from harness.preprocess.config import DRIFT_FLOW, FaceConfig, FlowConfig, SpotConfig, canonical
from harness.preprocess.errors import NoFaceError, check_policy
from harness.preprocess.regions import AU_REGIONS, STABLE_REGION, region_indices, region_masks
from harness.preprocess.results import Face, FaceTrack, FlowSequence, OnsetApexFlow, RegionMotion, pack, unpack
from harness.preprocess.timing import stage
from harness.registry import Registry

if TYPE_CHECKING:
    from harness.api import Context, Sample

T = TypeVar("T")

#: Side (px) at which per-frame drift is measured unless the face is larger; other sizes rescale its warps.
TRACK_SIZE = 128



# --- flow modes: which frame pairs a flow sequence holds ---------------------------------------------------------
PairsFn = Callable[[tuple[int, ...], int, Callable[[], int]], list[tuple[int, int]]]
FLOW_MODES: Registry[PairsFn] = Registry("flow mode")
FLOW_MODES.register("onset_apex", lambda frames, onset, apex: [(onset, apex())])
FLOW_MODES.register("from_onset", lambda frames, onset, apex: [(onset, f) for f in frames])
FLOW_MODES.register("consecutive", lambda frames, onset, apex: list(zip(frames[:-1], frames[1:])))


@dataclass
class Batch(Generic[T]):
    """What `Preprocessor.map` returns: results for the samples that had a face, and the ones skipped."""

    values: list[T]
    positions: tuple[int, ...]          # input positions of `values`
    sample_ids: tuple[str, ...]         # ids of `values`
    skipped: tuple[NoFaceError, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.values)

    @property
    def skipped_ids(self) -> tuple[str, ...]:
        return tuple(e.sample_id for e in self.skipped)


def grid_positions(times_s: np.ndarray, rate: float) -> list[int]:
    """Positions of the frames nearest the times 0, 1/rate, 2/rate, ... over the clip (unique, ascending)."""
    duration = float(times_s[-1]) if len(times_s) else 0.0
    grid = np.arange(int(np.floor(duration * rate + 1e-9)) + 1) / float(rate)
    return sorted({int(np.abs(times_s - t).argmin()) for t in grid})


class Preprocessor:
    """Shared, cached preprocessing. `context.preprocess` gives one; `Preprocessor(cache_dir)` makes one.

    on_no_face: default policy of `map` when a clip has no face: "fail" (raise NoFaceError) or "skip".
    use_cache: False computes everything afresh and writes nothing (for measurements).
    threads: if given, OpenCV's thread count for this process (parallel folds on few cores).
    """

    def __init__(self, cache_dir: Path | str | None = None, *, on_no_face: str = "fail", use_cache: bool = True,
                 threads: int | None = None):
        if cache_dir is None:
            from harness.paths import cache_dir as default_cache_dir

            cache_dir = default_cache_dir()
        self.cache_dir = Path(cache_dir)
        self.cache = Cache(self.cache_dir / "preprocess", enabled=use_cache)
        self.on_no_face = check_policy(on_no_face)
        self.skipped: dict[str, NoFaceError] = {}
        if threads is not None:
            import cv2

            cv2.setNumThreads(int(threads))

    # --- small helpers --------------------------------------------------------------------------------------
    @staticmethod
    def _check(sample: "Sample") -> None:
        if not sample.frame_indices:
            raise BadInput(f"sample {sample.sample_id!r} has no frames")
        if not sample.cache_key:
            raise BadInput(f"sample {sample.sample_id!r} has no cache_key (content identity of its frames)")

    @staticmethod
    def onset_frame(sample: "Sample") -> int:
        """The onset frame number (nearest available), or the first frame when the onset is unknown."""
        if sample.onset is None:
            return sample.frame_indices[0]
        return sample.frame_indices[sample.position(sample.onset)]

    def clip_frames(self, sample: "Sample") -> tuple[int, ...]:
        """The frames the clip-level operations use: from the onset to the last frame."""
        self._check(sample)
        onset = self.onset_frame(sample)
        return tuple(f for f in sample.frame_indices if f >= onset)

    def _frame(self, sample: "Sample", frame: int, gray: bool) -> np.ndarray:
        from harness.imageio import read_frames

        with stage("read"):
            return read_frames(sample.frame_paths([frame]), gray=gray)[0]

    def _base_identity(self, sample: "Sample", face: FaceConfig) -> dict[str, Any]:
        return {"frames": sample.cache_key, "frame_indices": list(self.clip_frames(sample)),
                "onset": self.onset_frame(sample), "face": canonical(face)}

    # --- faces ------------------------------------------------------------------------------------------------
    def landmarks(self, sample: "Sample", frame: int | None = None) -> np.ndarray:
        """(478, 2) float32 MediaPipe landmarks (x, y frame pixels) of one frame (default: the onset frame).

        Raises NoFaceError(sample_id, frame) when there is no face; that answer is cached too.
        """
        from harness.preprocess import landmarks as lmk

        self._check(sample)
        frame = self.onset_frame(sample) if frame is None else sample.frame_indices[sample.position(frame)]

        def compute():
            image = self._frame(sample, frame, gray=False)
            with stage("landmarks"):
                found = lmk.detect(image)
            return ({"landmarks": found} if found is not None else {}), {"found": found is not None}

        identity = {"frames": sample.cache_key, "frame": frame, "detector": lmk.SETTINGS}
        arrays, meta = self.cache.get_or_compute("landmarks", identity, compute)
        if not meta["found"]:
            raise NoFaceError(sample.sample_id, frame, frames_dir=sample.frames_dir)
        return arrays["landmarks"]

    def face(self, sample: "Sample", face: FaceConfig = FaceConfig()) -> Face:
        """The clip's crop: a similarity from the onset frame's landmarks to the canonical template.

        If the onset frame has no face, the next `face.detect_tries - 1` frames are tried; NoFaceError names the
        first and lists all tried.
        """
        from harness.preprocess import landmarks as lmk

        frames = self.clip_frames(sample)
        tries = frames[: face.detect_tries]

        def compute():
            for frame in tries:
                try:
                    image_lm = self.landmarks(sample, frame)
                except NoFaceError:
                    continue
                m = align.alignment_matrix(image_lm, face.size, face.margin)
                lm = align.transform_points(m, image_lm).astype(np.float32)
                return pack(Face(sample.sample_id, int(frame), face.size, m, lm, image_lm))
            raise NoFaceError(sample.sample_id, tries[0], tries, sample.frames_dir)

        identity = {"frames": sample.cache_key, "tries": list(tries), "geometry": face.geometry(),
                    "detector": lmk.SETTINGS}
        return unpack(Face, *self.cache.get_or_compute("face", identity, compute))

    def _stabilise(self, sample: "Sample", cfg: FaceConfig, frames: Sequence[int]) -> tuple[Face, np.ndarray, np.ndarray]:
        """Per-frame warps and aligned gray frames for `frames` (each frame's correction is independent of the
        others, so computing a subset gives the same answer as the full track)."""
        face = self.face(sample, cfg)
        with stage("align"):
            return self._stabilise_frames(sample, cfg, frames, face)

    def _stabilise_frames(self, sample: "Sample", cfg: FaceConfig, frames: Sequence[int], face: Face
                          ) -> tuple[Face, np.ndarray, np.ndarray]:
        size = cfg.size
        onset = self.onset_frame(sample)
        reference = align.Warper(self._frame(sample, onset, gray=True), face.matrix).warp(face.matrix, size)
        if cfg.drift != "none":
            mask = region_masks(face.landmarks, [STABLE_REGION], (size, size))[0]
            window = align.stable_window(mask, pad=max(2, int(0.08 * size)))
            flow_params = DRIFT_FLOW.resolved()
        matrices = np.zeros((len(frames), 2, 3))
        images = np.zeros((len(frames), size, size), dtype=np.uint8)
        for i, frame in enumerate(frames):
            m = face.matrix
            if frame == onset:
                matrices[i], images[i] = m, reference
                continue
            warper = align.Warper(self._frame(sample, frame, gray=True), m)
            image = warper.warp(m, size)
            if cfg.drift != "none":
                for _ in range(cfg.drift_iterations):
                    motion = align.measure_rigid(reference, image, mask, cfg.drift, window, DRIFT_FLOW.backend,
                                                 flow_params)
                    if align.is_identity(motion, size, 0.05) or not align.is_identity(motion, size, 0.25 * size):
                        break  # nothing left, or a "correction" no head makes in one clip: the flow failed, keep m
                    m = align.compose(align.invert(motion), m)
                    image = warper.warp(m, size)
                    if align.is_identity(motion, size, 0.5):
                        break  # a small correction leaves ~10 % of itself (< 0.05 px): another round is wasted
            matrices[i], images[i] = m, image
        return face, matrices, images

    @staticmethod
    def _tracking(cfg: FaceConfig) -> FaceConfig:
        """The config the per-frame warps are measured at: `TRACK_SIZE` px, or the face size when larger.

        Warps at another size are the same warps rescaled (the template scales with the size), so LBP-TOP's
        112 px clip, a 128 px flow and the 64 px spotting face share one drift measurement per clip.
        """
        return dataclasses.replace(cfg, size=max(TRACK_SIZE, cfg.size))

    def _track_entry(self, sample: "Sample", face: FaceConfig) -> tuple[dict, dict]:
        tcfg = self._tracking(face)
        frames = self.clip_frames(sample)

        def compute():
            f, matrices, images = self._stabilise(sample, tcfg, frames)
            arrays, meta = pack(FaceTrack(f, frames, matrices, tcfg.drift))
            return {**arrays, "frames": images}, meta

        return self.cache.get_or_compute("track", self._base_identity(sample, tcfg), compute)

    def track(self, sample: "Sample", face: FaceConfig = FaceConfig()) -> FaceTrack:
        """Per-frame warps (frame pixels -> aligned face of `face.size`), drift-corrected per `face.drift`, for
        `clip_frames`."""
        arrays, meta = self._track_entry(sample, face)
        t = unpack(FaceTrack, {k: v for k, v in arrays.items() if k != "frames"}, meta)
        if t.face.size == face.size:
            return t
        scale = align.resize_matrix(t.face.size, face.size)
        matrices = np.stack([align.compose(scale, m) for m in t.matrices])
        return FaceTrack(self.face(sample, face), t.frame_indices, matrices, t.drift)

    def _warp(self, sample: "Sample", frames: Sequence[int], matrices: np.ndarray, size: int, gray: bool) -> np.ndarray:
        with stage("align"):
            return np.stack([align.Warper(self._frame(sample, fr, gray=gray), m).warp(m, size)
                             for fr, m in zip(frames, matrices)])

    def aligned_clip(self, sample: "Sample", face: FaceConfig = FaceConfig(), *, gray: bool = True,
                     n: int | None = None) -> np.ndarray:
        """The aligned (and drift-corrected) face clip: (T, S, S) uint8 gray, or (T, S, S, 3) RGB.

        T covers `clip_frames(sample)`; with `n`, the clip is linearly resampled to exactly n frames.
        """
        if gray and self._tracking(face).size == face.size:
            clip = self._track_entry(sample, face)[0]["frames"]
        else:
            def compute():
                t = self.track(sample, face)
                return {"frames": self._warp(sample, t.frame_indices, t.matrices, face.size, gray)}, {}

            identity = {**self._base_identity(sample, face), "gray": gray}
            clip = self.cache.get_or_compute("aligned", identity, compute)[0]["frames"]
        if n is not None:
            from harness.preprocess.temporal import temporal_normalise

            clip = temporal_normalise(clip, n)
        return clip

    def _aligned_frames(self, sample: "Sample", face: FaceConfig, frames: Sequence[int]) -> np.ndarray:
        """Aligned gray frames for a few frames: from the cached track when there is one, else just these
        (each frame's correction does not depend on the others, so both give the same pixels)."""
        tcfg = self._tracking(face)
        key = self.cache.key("track", self._base_identity(sample, tcfg)) if self.cache.enabled else None
        found = self.cache.load("track", key) if key else None
        if found is not None:
            t = unpack(FaceTrack, {k: v for k, v in found[0].items() if k != "frames"}, found[1])
            pos = [t.frame_indices.index(f) for f in frames]
            matrices, images = t.matrices[pos], found[0]["frames"][pos]
        else:
            _, matrices, images = self._stabilise(sample, tcfg, frames)
        if tcfg.size == face.size:
            return images
        scale = align.resize_matrix(tcfg.size, face.size)
        return self._warp(sample, frames, np.stack([align.compose(scale, m) for m in matrices]), face.size, True)

    # --- motion -----------------------------------------------------------------------------------------------
    def _check_frames(self, sample: "Sample", frames: Sequence[int]) -> tuple[int, ...]:
        clip = self.clip_frames(sample)
        out = tuple(clip[int(np.abs(np.asarray(clip) - f).argmin())] for f in frames)
        for want, got in zip(frames, out):
            if want != got:
                raise BadInput(f"sample {sample.sample_id!r} has no frame {want} between its onset and last frame "
                               f"({clip[0]}..{clip[-1]})")
        return out

    def flow(self, sample: "Sample", frame_a: int, frame_b: int, flow: FlowConfig = FlowConfig(),
             face: FaceConfig = FaceConfig()) -> np.ndarray:
        """(H, W, 2) float32 flow on the aligned face from frame `frame_a` to `frame_b` (frame numbers),
        H = W = `flow.size` (default the face size), vectors in that map's pixels."""
        from harness.preprocess.flow import compute_flow, resize_flow

        a, b = self._check_frames(sample, [frame_a, frame_b])

        def compute():
            images = self._aligned_frames(sample, face, [a, b])
            with stage("flow"):
                f = compute_flow(images[0], images[1], flow.backend, flow.resolved())
                return {"flow": resize_flow(f, flow.size or face.size)}, {}

        identity = {**self._base_identity(sample, face), "pair": [a, b], "flow": flow.canonical()}
        return self.cache.get_or_compute("flow", identity, compute)[0]["flow"]

    def apex_frame(self, sample: "Sample", spot: SpotConfig = SpotConfig()) -> tuple[int, bool]:
        """(apex frame, spotted?): the annotated apex (nearest available frame), else `spot_apex`."""
        if sample.apex is not None:
            frames = np.asarray(self.clip_frames(sample))
            return int(frames[np.abs(frames - sample.apex).argmin()]), False
        return self.spot_apex(sample, spot), True

    def onset_apex_flow(self, sample: "Sample", flow: FlowConfig = FlowConfig(), face: FaceConfig = FaceConfig(),
                        spot: SpotConfig = SpotConfig()) -> OnsetApexFlow:
        """Onset -> apex flow, strain and landmarks on the aligned face. Without an annotated (or visible) apex,
        the apex is spotted with `spot` (see `spot_apex`) and `apex_spotted` is True."""
        from harness.preprocess.strain import strain

        onset = self.onset_frame(sample)
        apex, spotted = self.apex_frame(sample, spot)
        f = self.flow(sample, onset, apex, flow, face)
        lm = self.face(sample, face).landmarks_at(f.shape[0])
        with stage("regions"):
            return OnsetApexFlow(f, strain(f), onset, apex, spotted, lm)

    def flow_sequence(self, sample: "Sample", mode: str = "from_onset", flow: FlowConfig = FlowConfig(),
                      face: FaceConfig = FaceConfig(), spot: SpotConfig = SpotConfig()) -> FlowSequence:
        """Flows of a mode: "onset_apex" (1 pair), "from_onset" (onset -> every clip frame, the first is zero),
        "consecutive" (each frame -> the next). Stored as float16 (|error| < 0.01 px for |flow| < 16 px);
        a fresh result is rounded the same way, so cached and fresh results are identical."""
        from harness.preprocess.flow import compute_flow, resize_flow

        pairs_fn = FLOW_MODES.get(mode)
        frames = self.clip_frames(sample)
        pairs = [tuple(p) for p in pairs_fn(frames, self.onset_frame(sample), lambda: self.apex_frame(sample, spot)[0])]
        size = flow.size or face.size

        def compute():
            clip = self.aligned_clip(sample, face)
            pos = {f: i for i, f in enumerate(frames)}
            out = np.zeros((len(pairs), size, size, 2), dtype=np.float16)
            with stage("flow"):
                for i, (a, b) in enumerate(pairs):
                    if a != b:
                        f = compute_flow(clip[pos[a]], clip[pos[b]], flow.backend, flow.resolved())
                        out[i] = resize_flow(f, size)
            return {"flow": out}, {}

        identity = {**self._base_identity(sample, face), "mode": mode, "pairs": pairs, "flow": flow.canonical()}
        arrays, _ = self.cache.get_or_compute("flow_sequence", identity, compute)
        lm = self.face(sample, face).landmarks_at(size)
        return FlowSequence(arrays["flow"].astype(np.float32), tuple(pairs), mode, lm)

    def region_motion(self, sample: "Sample", regions: Sequence[str] = AU_REGIONS, flow: FlowConfig = FlowConfig(),
                      face: FaceConfig = FaceConfig(), top_p: float = 0.3, global_p: float = 0.7,
                      rate: float | None = None, n: int | None = None,
                      sample_rate: float | None = None) -> RegionMotion:
        """Per-frame region motion (T, R, 2): flow from the onset to every clip frame, robust mean of each region
        (mean of its top-`top_p` vectors by magnitude) minus the nose bridge's robust mean (top `global_p`).

        sample_rate: compute only the frames nearest a grid of this many per second (a 500 fps clip at 30 Hz needs
        1 flow in 17). Each row depends on its own frame alone (flow from the onset), so the rows kept are exactly
        those of the full computation; part of the cache key. Only those frames are aligned (unless the clip's
        track is cached already): each frame's warp is independent of the others, so the pixels are the same.
        rate: resample rows to this frame rate (fps) over the same duration; n: resample to exactly n rows
        (rate first, then n). Both are cheap and applied after the cache.
        """
        from harness.preprocess.flow import compute_flow, resize_flow
        from harness.preprocess.motion import region_features

        names = tuple(regions)
        for name in names:
            region_indices(name)  # "did you mean" before any work
        frames = self.clip_frames(sample)
        onset = self.onset_frame(sample)
        size = flow.size or face.size
        fps = float(sample.fps) if sample.fps else 0.0
        positions = list(range(len(frames)))
        if sample_rate is not None:
            if sample_rate <= 0:
                raise BadInput(f"sample_rate must be positive, got {sample_rate!r}")
            if fps > sample_rate:
                positions = grid_positions((np.asarray(frames, dtype=np.float64) - onset) / fps, sample_rate)
        used = tuple(frames[p] for p in positions)

        def compute():
            if len(positions) == len(frames):
                clip, at = self.aligned_clip(sample, face), {p: p for p in positions}
            else:  # only the frames used (and the onset): the same pixels, without aligning the rest
                needed = sorted({0, *positions})
                clip, at = self._aligned_frames(sample, face, [frames[p] for p in needed]), {p: i for i, p in
                                                                                          enumerate(needed)}
            lm = self.face(sample, face).landmarks_at(size)
            masks = region_masks(lm, names, (size, size))
            nose = region_masks(lm, [STABLE_REGION], (size, size))[0]
            flows = np.zeros((len(positions), size, size, 2), dtype=np.float32)
            with stage("flow"):
                for row, p in enumerate(positions):
                    if p > 0:
                        flows[row] = resize_flow(compute_flow(clip[at[0]], clip[at[p]], flow.backend,
                                                              flow.resolved()), size)
            with stage("regions"):
                return {"values": region_features(flows, masks, nose, top_p, global_p)}, {}

        identity = {**self._base_identity(sample, face), "regions": list(names), "top_p": float(top_p),
                    "global_p": float(global_p), "flow": flow.canonical()}
        if len(positions) != len(frames):
            identity["frames_used"] = list(used)
        values = self.cache.get_or_compute("region_motion", identity, compute)[0]["values"]
        frames = used
        times = (np.asarray(frames, dtype=np.float64) - onset) / fps if fps > 0 else np.arange(len(frames), dtype=np.float64)
        if rate is not None:
            from harness.preprocess.temporal import resample_rate

            if fps <= 0:
                raise BadInput(f"sample {sample.sample_id!r} has no frame rate; cannot resample to {rate} fps")
            source_rate = sample_rate if sample_rate is not None and fps > sample_rate else fps
            values = resample_rate(values, source_rate, rate)
            times = np.arange(values.shape[0]) / float(rate)
        if n is not None:
            from harness.preprocess.temporal import temporal_normalise

            values = temporal_normalise(values, n)
            times = temporal_normalise(times, n)
        return RegionMotion(values.astype(np.float32), names, frames, times)

    def spot_apex(self, sample: "Sample", spot: SpotConfig = SpotConfig()) -> int:
        """The apex frame number spotted as the frame of peak facial-region motion relative to the onset.

        Motion = mean over the AU regions of |region motion| (`region_motion` with `spot.flow`/`spot.face`),
        smoothed over `spot.smooth` frames; the onset frame itself is never the answer when others exist.
        Used by `onset_apex_flow` whenever `sample.apex` is None (SMIC, or a protocol that hides the apex).
        """
        from harness.preprocess.spotting import motion_curve, peak_position

        def compute():
            rm = self.region_motion(sample, AU_REGIONS, spot.flow, spot.face, spot.top_p)
            pos = peak_position(motion_curve(rm.values), spot.smooth)
            return {}, {"apex": int(rm.frame_indices[pos])}

        identity = {"frames": sample.cache_key, "frame_indices": list(self.clip_frames(sample)),
                    "onset": self.onset_frame(sample), "spot": canonical(spot)}
        return int(self.cache.get_or_compute("apex", identity, compute)[1]["apex"])

    # --- many samples, with the no-face policy ----------------------------------------------------------------
    def map(self, samples: Sequence["Sample"], fn: Callable[["Sample"], T], *, on_no_face: str | None = None,
            context: "Context | None" = None) -> Batch[T]:
        """`fn(sample)` for every sample, applying the no-face policy ("skip" or "fail"; default the
        Preprocessor's). Skipped samples are counted in `context.records` ("preprocess.no_face_skipped", plus
        their ids under "preprocess.no_face_samples") when a context is given.

        Parallel folds share work: a sample another process is computing is put off and revisited at the end
        (by then usually a cache hit) instead of being waited for or computed twice.
        """
        policy = check_policy(on_no_face or self.on_no_face)
        samples = list(samples)
        results: dict[int, T] = {}
        skipped: list[NoFaceError] = []

        def run(i: int) -> None:
            try:
                with stage("features"):  # the caller's own work on top of the preprocessing it asks for
                    results[i] = fn(samples[i])
            except NoFaceError as exc:
                if policy == "fail":
                    raise
                skipped.append(exc)
                self.skipped[exc.sample_id] = exc

        deferred = []
        with self.cache.nonblocking():
            for i in range(len(samples)):
                try:
                    run(i)
                except CacheBusy:
                    deferred.append(i)
        for i in deferred:
            run(i)
        if context is not None:
            context.record("preprocess.no_face_skipped", len(self.skipped))
            context.record("preprocess.no_face_samples", sorted(self.skipped))
        order = sorted(results)
        return Batch([results[i] for i in order], tuple(order), tuple(samples[i].sample_id for i in order),
                     tuple(sorted(skipped, key=lambda e: e.sample_id)))

    def stats(self) -> dict[str, Any]:
        """Cache hits and misses per kind in this process, and samples skipped for having no face."""
        return {"hits": dict(self.cache.hits), "misses": dict(self.cache.misses),
                "no_face_skipped": len(self.skipped)}

    # --- pure helpers, here so a bundle needs only `context.preprocess` --------------------------------------
    @staticmethod
    def strain(flow: np.ndarray) -> np.ndarray:
        """Optical strain magnitude of an (..., H, W, 2) flow (see `harness.preprocess.strain`)."""
        from harness.preprocess.strain import strain

        return strain(flow)

    @staticmethod
    def temporal_normalise(array: np.ndarray, n: int, axis: int = 0) -> np.ndarray:
        """Linear resampling to exactly n steps along `axis` (see `harness.preprocess.temporal`)."""
        from harness.preprocess.temporal import temporal_normalise

        return temporal_normalise(array, n, axis)
