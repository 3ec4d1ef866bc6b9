"""Fixture builders in the OFFICIAL release formats (helpers only; no tests in this module).

Every builder goes through `harness.datasets.release.write_release`, i.e. through the adapters' own writers, so
the fixtures exercise exactly the files and folder layouts the adapters read: DFME's three CCAC workbooks,
the CAS(ME)^3 v2 `label` sheet, the CASME II coding sheet, the SAMM workbook with its text preamble and the
SMIC-HS folder tree.

Small fixtures with tiny frames (8x8), for adapter, CLI and end-to-end scoring tests. The fixtures with the real
composition of the official files (their counts, their contradicting rows at their sheet rows) are in
`tests/official_releases.py`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from harness.datasets.adapters.dfme import CLASSES
from harness.datasets.base import AnnotationRecord
from harness.datasets.release import write_release

FRAME_SIZE = 8

DFME_CLASSES = CLASSES  # the release's seven emotions, as its adapter knows them

# --- frames and writing -----------------------------------------------------------------------------------------
def tiny_frame(record: AnnotationRecord, index: int) -> np.ndarray:
    """An 8x8 RGB frame whose grey level depends on the frame index (deterministic, cheap to encode)."""
    return np.full((FRAME_SIZE, FRAME_SIZE, 3), (17 * index) % 256, dtype=np.uint8)


def write_dataset(data_root: Path, key: str, records: Sequence[AnnotationRecord],
                  write_frames: bool = True) -> list[Path]:
    """Write `records` as DATA_ROOT/<key> in the official layout; returns the annotation files written."""
    return write_release(Path(data_root) / key, key, records, tiny_frame, write_frames=write_frames)


# --- small fixtures (with frames) ------------------------------------------------------------------------------
def dfme_records(subjects: dict[str, int] | None = None, classes: Sequence[str] = DFME_CLASSES,
                 fps: int = 200) -> list[AnnotationRecord]:
    """DFME rows: for each split, `subjects[split]` subjects with one sample per class each.

    Subjects are numbered across splits (sub0001, ...) so the splits are subject-disjoint; Filename is
    `<Subject>_<NN>`. Frames 0..2 (OnsetFrame 0, as in the CCAC test files), apex 1.
    """
    subjects = subjects or {"train": 3, "test_A": 2, "test_B": 2}
    out, n = [], 1
    for split, count in subjects.items():
        for _ in range(count):
            sub = f"sub{n:04d}"
            for j, emo in enumerate(classes):
                out.append(AnnotationRecord(sub, f"{sub}_{j + 1:02d}", 0, 1, 2, emo, "4+7", fps, split))
            n += 1
    return out


def casme3_records(n_subjects: int = 3) -> list[AnnotationRecord]:
    """CAS(ME)^3 Part A rows: per subject, two MEs in clip `a` (same clip, different onsets: the sample id must
    include the onset) plus one clip per further emotion; labels in the release's mixed case (`Others`)."""
    emotions = ["disgust", "happy", "surprise", "Others", "fear", "anger", "sad"]
    out = []
    for s in range(1, n_subjects + 1):
        sub = f"spNO.{s}"
        out.append(AnnotationRecord(sub, "a", 10, 11, 12, emotions[0], "4+7", 30, extra={"Objective class": "VII"}))
        out.append(AnnotationRecord(sub, "a", 20, 21, 22, emotions[1], "12", 30, extra={"Objective class": "I"}))
        for j, emo in enumerate(emotions[2:], start=1):
            out.append(AnnotationRecord(sub, chr(97 + j), 5, 6, 7, emo, "1+2", 30,
                                        extra={"Objective class": "II"}))
    return out


def casme2_records() -> list[AnnotationRecord]:
    """CASME II rows for three subjects (1, 2, 3 -> sub01..sub03), every emotion of the coding sheet once or
    more; the apex of sub02/EP03_02 is '/' as in the official sheet."""
    rows = [
        ("sub01", "EP02_01f", "happiness"), ("sub01", "EP03_02", "others"), ("sub01", "EP19_05f", "disgust"),
        ("sub02", "EP01_11f", "repression"), ("sub02", "EP03_02", "surprise"), ("sub02", "EP08_04", "sadness"),
        ("sub03", "EP09_06", "fear"), ("sub03", "EP19_01", "disgust"), ("sub03", "EP13_02", "happiness"),
    ]
    out = []
    for sub, clip, emo in rows:
        apex = None if (sub, clip) == ("sub02", "EP03_02") else 41
        out.append(AnnotationRecord(sub, clip, 40, apex, 43, emo, "AU4", 200))
    return out


def samm_records() -> list[AnnotationRecord]:
    """SAMM rows for three subjects (6, 7, 8 -> folders 006..008), every emotion of the sheet; the apex of
    007_2_5 is -1 ('not coded')."""
    emos = ["Anger", "Happiness", "Surprise", "Contempt", "Other", "Disgust", "Fear", "Sadness", "Anger"]
    out = []
    for i, emo in enumerate(emos):
        subj = f"{6 + i // 3:03d}"
        clip = f"{subj}_{i % 3 + 1}_{i + 1}"
        apex = None if clip == "007_2_5" else 5562 + i
        out.append(AnnotationRecord(subj, clip, 5560 + i, apex, 5565 + i, emo, "R14", 200))
    return out


def smic_records(n_subjects: int = 3, per_class: int = 1) -> list[AnnotationRecord]:
    """SMIC-HS clips: subjects s1..sN, `per_class` clips of each of negative/positive/surprise,
    named s<N>_<ne|po|sur>_<NN>; frames image<nnnnnn>.bmp (the tree is the annotation)."""
    short = {"negative": "ne", "positive": "po", "surprise": "sur"}
    out = []
    for s in range(1, n_subjects + 1):
        for emo, code in short.items():
            for k in range(1, per_class + 1):
                start = 100000 + 100 * s + 10 * k
                out.append(AnnotationRecord(f"s{s}", f"s{s}_{code}_{k:02d}", start, None, start + 2, emo, "", 100))
    return out


def write_small_root(data_root: Path, keys: Sequence[str] = ("dfme", "casme3", "casme2", "samm", "smic")) -> Path:
    """A data root with small fixtures (and frames) for the datasets in `keys`."""
    makers = {"dfme": dfme_records, "casme3": casme3_records, "casme2": casme2_records, "samm": samm_records,
              "smic": smic_records}
    for key in keys:
        write_dataset(data_root, key, makers[key]())
    return data_root


def move_behind_link(folder: Path, elsewhere: Path) -> None:
    """Move `folder` to `elsewhere` and leave a symbolic link in its place, as users keep frames on another disk
    (`dfme/frames -> /data/dfme_frames`)."""
    import shutil

    Path(elsewhere).parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(folder), str(elsewhere))
    Path(folder).symlink_to(elsewhere, target_is_directory=True)


def strip_dfme_labels(dataset_root: Path, split: str = "test_B") -> Path:
    """Rewrite one DFME workbook as a participant receives it at test time: no Emotion / EmotionId columns.
    Returns the rewritten file."""
    from harness.datasets.adapters.dfme import WRITE_NAMES
    from harness.datasets.xlsx import read_sheet, write_xlsx

    path = Path(dataset_root) / WRITE_NAMES[split]
    sheet = read_sheet(path, None, ["Subject", "Filename"])
    keep = [i for i, h in enumerate(sheet.header) if h not in ("Emotion", "EmotionId")]
    write_xlsx(path, {sheet.name: ([sheet.header[i] for i in keep], [[r[i] for i in keep] for r in sheet.rows])})
    return path
