"""SMIC-HS: no annotation workbook; the folder tree is the annotation.

`SMIC_all_raw/HS/s<N>/micro/<negative|positive|surprise>/s<N>_<ne|po|sur>_<NN>/image<nnnnnn>.bmp`. Each clip
folder holds the micro-expression frames from onset to offset; SMIC codes no apex (loads as missing; spot it).
100 fps.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from harness.datasets.base import AnnotationRecord, DatasetAdapter, find_dir
from harness.datasets.frames import list_frames
from harness.errors import Problem

EMOTIONS = ("negative", "positive", "surprise")
SHORT = {"negative": "ne", "positive": "po", "surprise": "sur"}


class Smic(DatasetAdapter):
    key = "smic"
    title = "SMIC-HS"
    default_fps = 100.0
    vocabulary = EMOTIONS
    citation = "Li et al., SMIC, IEEE FG 2013"

    def read_rows(self, root: Path, problems: list[Problem]):
        base = find_dir(root, ["SMIC_all_raw", "SMIC_all_cropped"])
        hs = base / "HS" if base else None
        if hs is None or not hs.is_dir():
            problems.append(Problem(str(root), "no SMIC_all_raw/HS folder", hint="expected smic/SMIC_all_raw/HS/s1/micro/..."))
            return [], []
        rows = []
        for subj in sorted(p for p in hs.iterdir() if p.is_dir()):
            micro = subj / "micro"
            if not micro.is_dir():
                continue
            for emo_dir in sorted(p for p in micro.iterdir() if p.is_dir()):
                for clip in sorted(p for p in emo_dir.iterdir() if p.is_dir()):
                    frames = list_frames(clip)
                    if not frames:
                        problems.append(Problem(str(clip), "clip folder holds no frames"))
                        continue
                    idx = sorted(frames)
                    rows.append({
                        "sample_id": clip.name, "dataset": self.key, "subject": subj.name, "clip": clip.name,
                        "onset": idx[0], "apex": None, "offset": idx[-1], "fps": self.default_fps,
                        "emotion": emo_dir.name.lower(), "emotion_raw": emo_dir.name, "aus": "", "split": "all",
                        "clip_dir": str(clip), "source_file": str(clip), "source_row": None,
                    })
        return rows, []

    def frame_path(self, root: Path, record: AnnotationRecord, index: int) -> Path:
        return (root / "SMIC_all_raw" / "HS" / record.subject / "micro" / record.emotion / record.clip
                / f"image{index:06d}.bmp")

    def write_annotations(self, root: Path, records: Sequence[AnnotationRecord]) -> list[Path]:
        return []  # the folder tree written with the frames is SMIC's annotation
