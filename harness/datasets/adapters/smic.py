"""SMIC-HS: no annotation workbook; the folder tree is the annotation.

`SMIC_all_raw/HS/s<N>/micro/<negative|positive|surprise>/s<N>_<ne|po|sur>_<NN>/image<nnnnnn>.bmp`. Each clip
folder holds the micro-expression frames from onset to offset; SMIC codes no apex (loads as missing; spot it).
100 fps.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from harness.datasets.base import AnnotationRecord, DatasetAdapter
from harness.datasets.synthetic import OfficialSplit, SyntheticLayout, one
from harness.datasets.frames import FrameFileError, list_frames
from harness.datasets.tree import child_dir, find_dir, walk
from harness.errors import Problem

EMOTIONS = ("negative", "positive", "surprise")
SHORT = {"negative": "ne", "positive": "po", "surprise": "sur"}


class Smic(DatasetAdapter):
    key = "smic"
    title = "SMIC-HS"
    default_fps = 100.0
    vocabulary = EMOTIONS
    citation = "Li et al., SMIC, IEEE FG 2013"
    official = (OfficialSplit("all", 16, 164, {"negative": 70, "positive": 51, "surprise": 43}),)
    synthetic = SyntheticLayout(
        subjects=5, samples_per_subject=9.0,
        emotion={"negative": (("anger", 0.25), ("disgust", 0.3), ("sadness", 0.2), ("fear", 0.15), ("contempt", 0.1)),
                 "positive": one("happiness"), "surprise": one("surprise")},
        subject_pool=(1, 20), subject_format="s{}", first_frame=(1000, 200000), folder_is_annotation=True,
        title="SMIC-HS")

    def sample_id(self, subject: str, clip: str, onset) -> str:
        return clip  # s<N>_<ne|po|sur>_<NN> (it names the class: folds see opaque ids)

    def synthetic_clip_names(self, r, number: int, subject: str, labels: list[str]) -> list[str]:
        counts: dict[str, int] = {}
        out = []
        for lab in labels:
            counts[lab] = counts.get(lab, 0) + 1
            out.append(f"{subject}_{SHORT[lab]}_{counts[lab]:02d}")
        return out

    def read_rows(self, root: Path, problems: list[Problem]):
        base = find_dir(root, ["SMIC_all_raw", "SMIC_all_cropped"], problems=problems)
        hs = child_dir(base, "HS")
        if hs is None:
            problems.append(Problem(str(root), "no SMIC_all_raw/HS folder", hint="expected smic/SMIC_all_raw/HS/s1/micro/..."))
            return [], []
        rows = []
        # HS/<subject>/micro/<emotion>/<clip>: depth 4, through symbolic links (tree.walk reports link cycles)
        for e in walk(hs, 4, problems, descend=lambda p: len(p.relative_to(hs).parts) != 2 or p.name == "micro"):
            parts = e.path.relative_to(hs).parts
            if e.depth != 4 or not e.is_dir:
                continue
            subject, _, emotion, clip = parts
            try:
                frames = list_frames(e.path)
            except FrameFileError as exc:
                problems.append(Problem(exc.path, str(exc).removeprefix(exc.path + ": ")))
                continue
            if not frames:
                problems.append(Problem(str(e.path), "clip folder holds no frames"))
                continue
            idx = sorted(frames)
            rows.append({
                "sample_id": self.sample_id(subject, clip, idx[0]), "dataset": self.key, "subject": subject, "clip": clip,
                "onset": idx[0], "apex": None, "offset": idx[-1], "fps": self.default_fps,
                "emotion": emotion.lower(), "emotion_raw": emotion, "aus": "", "split": "all",
                "clip_dir": str(e.path), "source_file": str(e.path), "source_row": None, "defect": None,
            })
        return rows, []

    def frame_path(self, root: Path, record: AnnotationRecord, index: int) -> Path:
        return (root / "SMIC_all_raw" / "HS" / record.subject / "micro" / record.emotion / record.clip
                / f"image{index:06d}.bmp")

    def write_annotations(self, root: Path, records: Sequence[AnnotationRecord]) -> list[Path]:
        return []  # the folder tree written with the frames is SMIC's annotation


ADAPTER = Smic
