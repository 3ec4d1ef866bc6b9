"""Ground truth kept beside the release, in `ROOT/_truth/<dataset>/`, a folder no adapter reads.

What is stored per clip is small (JSON: the AU fields' Gaussian components, per-frame AU intensities, per-frame
head transforms; PNG: the head mask); dense fields are regenerated on demand from exactly the numbers the
renderer used, so they are exact up to the renderer's fixed-point inversion (< 0.01 px).

Conventions (frame pixels, x right, y down, all relative to the clip's FIRST frame):
- `au_displacement(f)[y, x]`: where facial action alone moves the skin point seen at (x, y) in the first frame.
- `head_transform(f)`: 2x3 rigid transform of the head from the first frame to frame f.
- `displacement(f) = H_f(p + A_f(p)) - p` on the head, 0 on the still background (a fixed camera).
- Optical flow from frame a to frame b is then approximately `displacement(b) - displacement(a)` (exact to first
  order; the error is of the order |d| * |grad d|, far below 0.05 px for these sub-pixel to few-pixel motions).
- Blinks are AU45 in `au_names`; while the lid covers the eye the image there is occlusion, not motion.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import BadInput

TRUTH_DIR = "_truth"
INDEX = "index.json"


def truth_root(data_root: Path, dataset: str) -> Path:
    return Path(data_root) / TRUTH_DIR / dataset


def clip_path(subject: str, clip: str) -> str:
    """Relative path of a clip's truth JSON inside `_truth/<dataset>/`."""
    return f"clips/{subject}/{clip}.json"


def dump_json(path: Path, data: Any) -> None:
    """Deterministic JSON (fixed key order as built, no whitespace variation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=True) + "\n")


@dataclass
class Truth:
    """True motion and timing of one sample (see the module docstring for the conventions)."""

    dataset: str
    sample_id: str
    subject: str
    clip: str
    fps: float
    size: tuple[int, int]                # (H, W)
    frame_indices: np.ndarray            # annotation frame numbers covered by the clip's frames
    onset: int                           # true, before annotation jitter
    apex: int
    offset: int
    annotated: tuple[int, int | None, int]
    emotion: str                         # emotion whose prototype drove the motion
    label: str                           # label written in the release
    label_noise: bool
    aus: list[str]                       # AUs of this expression (as in the annotation's AU string)
    au_names: list[str]                  # columns of au_intensity: every AU moving in the clip, blinks as '45'
    au_intensity: np.ndarray             # (T, n_aus)
    au_amplitude: np.ndarray             # (n_aus,) px moved by the field's strongest point at intensity 1
    au_apex: dict[str, int]              # this expression's AUs: frame where each peaks (asynchronous)
    head: np.ndarray                     # (T, 2, 3)
    face_box: tuple[float, float, float, float]
    components: list[np.ndarray] = field(repr=False, default_factory=list)
    mask_path: Path | None = field(repr=False, default=None)

    # ----- fields --------------------------------------------------------------------------------------------
    def _t(self, frame_index: int) -> int:
        t = int(frame_index) - int(self.frame_indices[0])
        if not 0 <= t < len(self.frame_indices):
            raise BadInput(f"frame {frame_index} is outside clip {self.clip!r} "
                           f"({self.frame_indices[0]}..{self.frame_indices[-1]})")
        return t

    @cached_property
    def basis(self) -> np.ndarray:
        """(n_aus, H, W, 2) unit fields, amplitude applied."""
        from harness.synth.aus import evaluate

        h, w = self.size
        if not self.components:
            return np.zeros((0, h, w, 2), np.float32)
        return np.stack([evaluate(c, h, w) * np.float32(a) for c, a in zip(self.components, self.au_amplitude)])

    @cached_property
    def head_mask(self) -> np.ndarray:
        """(H, W) bool: pixels of the first frame that belong to the moving head (hair, ears, face)."""
        import cv2

        if self.mask_path is None:
            return np.ones(self.size, bool)
        m = cv2.imread(str(self.mask_path), cv2.IMREAD_GRAYSCALE)
        if m is None:
            raise BadInput(f"cannot read the head mask {self.mask_path}; regenerate the corpus")
        return m >= 128

    def au_displacement(self, frame_index: int) -> np.ndarray:
        """(H, W, 2) float32: facial-action motion only, from the first frame to `frame_index`."""
        t = self._t(frame_index)
        h, w = self.size
        if not len(self.au_names):
            return np.zeros((h, w, 2), np.float32)
        a = np.tensordot(self.au_intensity[t].astype(np.float32), self.basis, axes=(0, 0))
        return (a * self.head_mask[..., None]).astype(np.float32)

    def head_transform(self, frame_index: int) -> np.ndarray:
        """2x3 rigid transform of the head from the first frame to `frame_index`."""
        return self.head[self._t(frame_index)].copy()

    def displacement(self, frame_index: int) -> np.ndarray:
        """(H, W, 2) float32: full true motion (facial action, then head pose) from the first frame."""
        h, w = self.size
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
        a = self.au_displacement(frame_index).astype(np.float64)
        m = self.head_transform(frame_index)
        px, py = xs + a[..., 0], ys + a[..., 1]
        out = np.stack([m[0, 0] * px + m[0, 1] * py + m[0, 2] - xs, m[1, 0] * px + m[1, 1] * py + m[1, 2] - ys], -1)
        return (out * self.head_mask[..., None]).astype(np.float32)

    def flow(self, frame_a: int, frame_b: int) -> np.ndarray:
        """Approximate true optical flow a -> b at the pixels of frame a: displacement(b) - displacement(a)."""
        return self.displacement(frame_b) - self.displacement(frame_a)


def build_clip_truth(plan, size: int, components: list[np.ndarray], face_box: tuple[float, ...], version: str
                     ) -> dict:
    """The JSON document of one clip (plan: a plan.ClipPlan)."""
    return {
        "format": 1, "generator": version, "dataset": plan.dataset, "subject": plan.subject, "clip": plan.clip,
        "split": plan.split, "fps": plan.fps, "size": [int(size), int(size)],
        "first_frame": plan.first, "last_frame": plan.last,
        "face_box": [round(float(v), 3) for v in face_box],
        "pose": np.round(plan.pose, 6).tolist(),
        "aus": [{"name": n, "amplitude_px": a, "components": np.asarray(c).tolist()}
                for n, a, c in zip(plan.au_names, plan.amplitude, components)],
        "intensity": plan.intensity.tolist(),
        "head": plan.head.reshape(len(plan.head), 6).tolist(),
        "gain": plan.gain.tolist(),
        "events": [{
            "sample_id": e.sample_id, "label": e.label, "emotion": e.emotion, "label_noise": e.label_noise,
            "aus": e.aus, "objective_class": e.objective,
            "onset": e.event.onset, "apex": e.event.apex, "offset": e.event.offset,
            "annotated": {"onset": e.annotated[0], "apex": e.annotated[1], "offset": e.annotated[2]},
            "au_timing": [{"name": tm.name, "start": tm.start, "apex": tm.apex, "end": tm.end, "peak": tm.peak}
                          for tm in e.event.aus],
        } for e in plan.events],
        "mask": f"{plan.clip}.mask.png",
    }


def load_index(data_root: Path, dataset: str) -> dict[str, list]:
    path = truth_root(data_root, dataset) / INDEX
    if not path.is_file():
        raise BadInput(f"no ground truth for {dataset!r} under {Path(data_root) / TRUTH_DIR}: only corpora written "
                       f"by `harness data synth` have it (expected {path})")
    return json.loads(path.read_text())


def load_truth(data_root: Path, dataset: str, sample_id: str) -> Truth:
    """The ground truth of one sample, by the adapter's sample_id (e.g. 'sub0003_01', 'sub01/EP02_01f',
    'spNO.1_a_355', '006_1_2', 's1_ne_01')."""
    index = load_index(data_root, dataset)
    if sample_id not in index:
        from harness.registry import suggest

        raise BadInput(suggest(sample_id, list(index), f"{dataset} sample id"))
    rel, k = index[sample_id]
    path = truth_root(data_root, dataset) / rel
    doc = json.loads(path.read_text())
    ev = doc["events"][k]
    first, last = doc["first_frame"], doc["last_frame"]
    names = [a["name"] for a in doc["aus"]]
    frames = np.arange(first, last + 1)
    intensity = np.asarray(doc["intensity"], np.float64).reshape(len(frames), len(names))
    # where each of this expression's AUs peaks, looked for inside the expression (an AU may recur later in a
    # long CAS(ME)^3 clip)
    au_apex: dict[str, int] = {}
    lo, hi = ev["onset"] - first, ev["offset"] - first
    for tm in ev["au_timing"]:
        j = names.index(tm["name"])
        au_apex[tm["name"]] = int(first + lo + int(np.argmax(intensity[lo:hi + 1, j])))
    ann = ev["annotated"]
    return Truth(
        dataset=dataset, sample_id=sample_id, subject=doc["subject"], clip=doc["clip"], fps=float(doc["fps"]),
        size=(int(doc["size"][0]), int(doc["size"][1])), frame_indices=frames,
        onset=int(ev["onset"]), apex=int(ev["apex"]), offset=int(ev["offset"]),
        annotated=(ann["onset"], ann["apex"], ann["offset"]), emotion=ev["emotion"], label=ev["label"],
        label_noise=bool(ev["label_noise"]), aus=list(ev["aus"]), au_names=names, au_intensity=intensity,
        au_amplitude=np.array([a["amplitude_px"] for a in doc["aus"]], np.float64), au_apex=au_apex,
        head=np.asarray(doc["head"], np.float64).reshape(len(frames), 2, 3),
        face_box=tuple(doc["face_box"]),  # type: ignore[arg-type]
        components=[np.asarray(a["components"], np.float64).reshape(-1, 6) for a in doc["aus"]],
        mask_path=path.parent / doc["mask"],
    )


def sample_ids(data_root: Path, dataset: str) -> list[str]:
    """Every sample id that has ground truth, in index order."""
    return list(load_index(data_root, dataset))
