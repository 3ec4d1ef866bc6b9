"""DFME as released for the CCAC challenge: three annotation workbooks (training / testA / testB).

Columns (all three files): Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Emotion, EmotionId, Fps, AU.
EmotionId is alphabetical (anger 0 ... surprise 6). A participant's test files may come without the
Emotion/EmotionId columns; the loader accepts that and leaves `emotion` empty (such a phase cannot be scored).

Frame layout: the public sources do not document the folder layout of the DFME frames, so the loader finds each
clip as a folder named by its Filename anywhere up to three levels under `dfme/` (the synthetic corpus writes
`dfme/frames/<Subject>/<Filename>/<n>.jpg`). Frame numbers are the annotation's (OnsetFrame may be 0).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from harness.datasets.base import AnnotationRecord, DatasetAdapter, as_int, find_file, normalise_label
from harness.datasets.xlsx import read_sheet, write_xlsx
from harness.errors import BadInput, Problem

CLASSES = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")
COLUMNS = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Emotion", "EmotionId", "Fps", "AU"]
REQUIRED = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Fps"]
SPLIT_FILES = {
    "train": ("training*.xlsx", "train*.xlsx"),
    "test_A": ("testa*.xlsx", "test_a*.xlsx"),
    "test_B": ("testb*.xlsx", "test_b*.xlsx"),
}
WRITE_NAMES = {"train": "training_full_with_AU.xlsx", "test_A": "testA_full_with_AU.xlsx",
               "test_B": "testB_full_with_AU.xlsx"}


def _clip_dirs(root: Path, max_depth: int = 3) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for dirpath, dirnames, _ in os.walk(root):
        depth = Path(dirpath).relative_to(root).parts
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for d in dirnames:
            found.setdefault(d, Path(dirpath, d))
        if len(depth) >= max_depth:
            dirnames[:] = []
    return found


class Dfme(DatasetAdapter):
    key = "dfme"
    title = "DFME (CCAC 2024 release)"
    vocabulary = CLASSES
    citation = "Zhao et al., DFME, IEEE TAFFC 2023, doi 10.1109/TAFFC.2023.3341918"

    def read_rows(self, root: Path, problems: list[Problem]):
        rows: list[dict[str, Any]] = []
        files: list[Path] = []
        dirs = _clip_dirs(root)
        for split, patterns in SPLIT_FILES.items():
            path = find_file(root, patterns, max_depth=1)
            if path is None:
                problems.append(Problem(str(root), f"no {split} annotation file ({' or '.join(patterns)})",
                                        hint="the CCAC release has training, testA and testB workbooks"))
                continue
            files.append(path)
            try:
                sheet = read_sheet(path, None, REQUIRED)
            except BadInput as exc:  # one unreadable workbook must not hide the problems of the other two
                problems.append(Problem(str(path), str(exc).removeprefix(f"{path} ")))
                continue
            for n, rec in sheet.records():
                emotion_raw = rec.get("Emotion")
                emotion = normalise_label(emotion_raw)
                eid = as_int(rec.get("EmotionId"))
                if emotion in CLASSES and eid is not None and CLASSES.index(emotion) != eid:
                    problems.append(Problem(str(path), f"EmotionId {eid} does not match Emotion {emotion_raw!r} "
                                            f"(expected {CLASSES.index(emotion)})", row=n, column="EmotionId"))
                fps = rec.get("Fps")
                try:
                    fps = float(fps)
                except (TypeError, ValueError):
                    pass
                filename = str(rec.get("Filename") or "").strip()
                rows.append({
                    "sample_id": filename, "dataset": self.key, "subject": str(rec.get("Subject") or "").strip(),
                    "clip": filename, "onset": as_int(rec.get("OnsetFrame")), "apex": as_int(rec.get("ApexFrame")),
                    "offset": as_int(rec.get("OffsetFrame")), "fps": fps, "emotion": emotion,
                    "emotion_raw": None if emotion_raw is None else str(emotion_raw), "aus": str(rec.get("AU") or ""),
                    "split": split, "clip_dir": str(dirs[filename]) if filename in dirs else None,
                    "source_file": str(path), "source_row": n,
                })
        return rows, files

    def expected_clip_hint(self, row):
        return f"a folder named {row['clip']!r} under dfme/ (e.g. dfme/frames/{row['subject']}/{row['clip']}/)"

    def frame_path(self, root: Path, record: AnnotationRecord, index: int) -> Path:
        return root / "frames" / record.subject / record.clip / f"{index}.jpg"

    def write_annotations(self, root: Path, records: Sequence[AnnotationRecord]) -> list[Path]:
        written = []
        for split, name in WRITE_NAMES.items():
            rows = [[r.subject, r.clip, r.onset, r.apex, r.offset, r.emotion,
                     r.extra.get("EmotionId", CLASSES.index(normalise_label(r.emotion))
                                 if normalise_label(r.emotion) in CLASSES else None),
                     int(r.fps) if float(r.fps).is_integer() else r.fps, r.aus]
                    for r in records if r.split == split]
            path = root / name
            write_xlsx(path, {"Sheet1": (COLUMNS, rows)})
            written.append(path)
        return written
