"""DFME as released for the CCAC challenge: three annotation workbooks (training / testA / testB).

Columns (all three files): Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Emotion, EmotionId, Fps, AU.
EmotionId is alphabetical (anger 0 ... surprise 6). A participant's test files may come without the
Emotion/EmotionId columns; the loader accepts that and leaves `emotion` empty (such a phase cannot be scored).

The AU cell is a number where the code is one AU (`4`) and text elsewhere (`4+23`, `L12`); OnsetFrame is 0 in
about half the rows; Fps is per row (500 / 300 / 200, one rate per subject).

Frame layout: the public sources do not document the folder layout of the DFME frames, and users keep 340k
frames where they like, often behind a symbolic link (`dfme/frames -> /data/dfme_frames`). The loader finds each
clip as a folder named by its Filename anywhere up to four levels under `dfme/`, following links (the synthetic
corpus writes `dfme/frames/<Subject>/<Filename>/<n>.jpg`). Frame numbers are the annotation's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from harness.datasets.base import AnnotationRecord, DatasetAdapter, as_int, cell_text, choose_file, normalise_label
from harness.datasets.synthetic import OfficialSplit, SyntheticLayout, one
from harness.datasets.tree import dirs_by_name
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


class Dfme(DatasetAdapter):
    key = "dfme"
    title = "DFME (CCAC 2024 release)"
    vocabulary = CLASSES
    citation = "Zhao et al., DFME, IEEE TAFFC 2023, doi 10.1109/TAFFC.2023.3341918"
    official = (
        OfficialSplit("train", 176, 1856, {"anger": 161, "contempt": 100, "disgust": 548, "fear": 265,
                                           "happiness": 206, "sadness": 278, "surprise": 298},
                      {500: 695, 300: 605, 200: 556}),
        OfficialSplit("test_A", 42, 474, {"anger": 39, "contempt": 34, "disgust": 129, "fear": 62, "happiness": 63,
                                          "sadness": 46, "surprise": 101}, {500: 215, 300: 143, 200: 116}),
        OfficialSplit("test_B", 41, 299, {"anger": 41, "contempt": 37, "disgust": 58, "fear": 38, "happiness": 42,
                                          "sadness": 35, "surprise": 48}, {500: 83, 300: 57, 200: 159}),
    )
    synthetic = SyntheticLayout(
        subjects=24, samples_per_subject=6.5, emotion={e: one(e) for e in CLASSES}, subject_pool=(1, 671),
        subject_format="sub{:04d}", first_frame=(0, 0), title="DFME (CCAC 2024 training / testA / testB)")

    def sample_id(self, subject: str, clip: str, onset) -> str:
        return clip  # Filename is unique across the three files

    def synthetic_clip_names(self, r, number: int, subject: str, labels: list[str]) -> list[str]:
        return [f"{subject}_{i + 1:02d}" for i in range(len(labels))]

    def read_rows(self, root: Path, problems: list[Problem]):
        rows: list[dict[str, Any]] = []
        files: list[Path] = []
        sheets = []
        for split, patterns in SPLIT_FILES.items():
            path = choose_file(root, [WRITE_NAMES[split]], patterns, problems, f"DFME {split}", max_depth=1)
            if path is None:
                problems.append(Problem(str(root), f"no {split} annotation file ({' or '.join(patterns)})",
                                        hint="the CCAC release has training, testA and testB workbooks"))
                continue
            files.append(path)
            try:
                sheets.append((split, read_sheet(path, None, REQUIRED)))
            except BadInput as exc:  # one unreadable workbook must not hide the problems of the other two
                problems.append(Problem(str(path), str(exc).removeprefix(f"{path} ")))
        wanted = {cell_text(r[sheet.header.index("Filename")]) for _, sheet in sheets for r in sheet.rows}
        dirs = dirs_by_name(root, wanted, max_depth=4, problems=problems)
        for split, sheet in sheets:
            path = sheet.path
            for rec in self.sheet_rows(sheet, problems):
                n, values = rec.number, rec.values
                emotion_raw = values.get("Emotion")
                emotion = normalise_label(emotion_raw)
                eid = as_int(values.get("EmotionId"))
                if emotion in CLASSES and eid is not None and CLASSES.index(emotion) != eid:
                    problems.append(Problem(str(path), f"EmotionId {eid} does not match Emotion {emotion_raw!r} "
                                            f"(expected {CLASSES.index(emotion)})", row=n, column="EmotionId"))
                fps = values.get("Fps")
                try:
                    fps = float(fps)
                except (TypeError, ValueError):
                    pass
                filename = cell_text(rec.released.get("Filename"))
                row = self.row(sample_id=self.sample_id(cell_text(values.get("Subject")), filename, None), subject=cell_text(values.get("Subject")), clip=filename,
                               onset=values.get("OnsetFrame"), apex=values.get("ApexFrame"),
                               offset=values.get("OffsetFrame"), emotion=emotion_raw, aus=values.get("AU"),
                               clip_dir=dirs.get(filename), source_file=path, source_row=n, split=split, fps=fps)
                rows.append(row)
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
                     int(r.fps) if float(r.fps).is_integer() else r.fps,
                     int(r.aus) if r.aus.isdigit() else r.aus]  # one AU is a number cell, as released
                    for r in records if r.split == split]
            path = root / name
            write_xlsx(path, {"Sheet1": (COLUMNS, rows)})
            written.append(path)
        return written


ADAPTER = Dfme
