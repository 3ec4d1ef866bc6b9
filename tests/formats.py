"""Fixture builders in the OFFICIAL release formats (helpers only; no tests in this module).

Every builder goes through `harness.datasets.release.write_release`, i.e. through the adapters' own writers, so
the fixtures exercise exactly the files and folder layouts the adapters read: DFME's three CCAC workbooks,
the CAS(ME)^3 v2 `label` sheet, the CASME II coding sheet, the SAMM workbook with its text preamble and the
SMIC-HS folder tree.

Two families:

* small fixtures with tiny frames (8x8), for adapter, CLI and end-to-end scoring tests;
* `official_*` builders that reproduce the row, subject and class counts of the official annotation files
  (see shared/reference/protocols-and-datasets.md). They are annotation-only (`write_frames=False`, load with
  `check_frames=False`) except SMIC-HS, whose annotation *is* its frame tree (one frame per clip there).
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from harness.datasets.base import AnnotationRecord
from harness.datasets.release import write_release

FRAME_SIZE = 8

DFME_CLASSES = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")

# --- official counts (shared/reference/protocols-and-datasets.md) -------------------------------------------------
DFME_OFFICIAL = {
    # split: (samples, subjects, per-class counts in DFME_CLASSES order, rows at 500/300/200 fps)
    "train": (1856, 176, (161, 100, 548, 265, 206, 278, 298), (695, 605, 556)),
    "test_A": (474, 42, (39, 34, 129, 62, 63, 46, 101), (215, 143, 116)),
    "test_B": (299, 41, (41, 37, 58, 38, 42, 35, 48), (83, 57, 159)),
}
DFME_FPS = (500, 300, 200)
CASME3_OFFICIAL_EMOTIONS = {"disgust": 250, "surprise": 187, "others": 158, "Others": 3, "fear": 86,
                            "anger": 64, "sad": 57, "happy": 55}
CASME3_OFFICIAL_SUBJECTS = 94
CASME2_OFFICIAL_EMOTIONS = {"others": 99, "disgust": 63, "happiness": 32, "repression": 27, "surprise": 25,
                            "sadness": 7, "fear": 2}
CASME2_OFFICIAL_SUBJECTS = 26
SAMM_OFFICIAL_EMOTIONS = {"Anger": 57, "Other": 26, "Happiness": 26, "Surprise": 15, "Contempt": 12, "Disgust": 9,
                          "Fear": 8, "Sadness": 6}
SMIC_OFFICIAL = {"negative": 70, "positive": 51, "surprise": 43}
SMIC_OFFICIAL_SUBJECTS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12, 13, 14, 15, 18, 19, 20)  # 16 subjects of SMIC-HS
# MEGC2019 ids our protocol excludes (megc2019-composite.yaml, exclude_samples)
MEGC_CASME2_EXCLUDED = ("sub04/EP12_01f", "sub05/EP12_03f", "sub24/EP02_07")


# --- frames and writing -----------------------------------------------------------------------------------------
def tiny_frame(record: AnnotationRecord, index: int) -> np.ndarray:
    """An 8x8 RGB frame whose grey level depends on the frame index (deterministic, cheap to encode)."""
    return np.full((FRAME_SIZE, FRAME_SIZE, 3), (17 * index) % 256, dtype=np.uint8)


def write_dataset(data_root: Path, key: str, records: Sequence[AnnotationRecord],
                  write_frames: bool = True) -> list[Path]:
    """Write `records` as DATA_ROOT/<key> in the official layout; returns the annotation files written."""
    return write_release(Path(data_root) / key, key, records, tiny_frame, write_frames=write_frames)


def _spread(total: int, parts: int) -> list[int]:
    """`total` split into `parts` near-equal positive integers (larger ones first)."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _labels(counts: dict[str, int] | Iterable[tuple[str, int]]) -> list[str]:
    """Labels repeated by their counts, interleaved round-robin so that every subject sees several classes."""
    items = list(counts.items() if isinstance(counts, dict) else counts)
    pools = [[name] * n for name, n in items]
    out: list[str] = []
    for group in itertools.zip_longest(*pools):
        out.extend(x for x in group if x is not None)
    return out


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


# --- official counts (annotation-only) --------------------------------------------------------------------------
def official_dfme_records() -> list[AnnotationRecord]:
    """The CCAC annotation files' shape: 1856 / 474 / 299 rows from 176 / 42 / 41 subjects, the per-class counts
    and the 500/300/200 fps counts of the reference table; each subject at a single fps (fps names the
    sub-dataset), subjects disjoint across the three files."""
    out: list[AnnotationRecord] = []
    n_subject = 1
    for split, (samples, subjects, per_class, per_fps) in DFME_OFFICIAL.items():
        labels = _labels(zip(DFME_CLASSES, per_class))
        assert len(labels) == samples == sum(per_fps)
        pos = 0
        for fps, rows, n_subj in zip(DFME_FPS, per_fps, _spread(subjects, len(DFME_FPS))):
            for per_subject in _spread(rows, n_subj):
                sub = f"sub{n_subject:04d}"
                for j in range(per_subject):
                    emo = labels[pos]
                    pos += 1
                    onset = 0 if pos % 2 else 30 + j
                    out.append(AnnotationRecord(sub, f"{sub}_{j + 1:02d}", onset, onset + 5, onset + 12, emo,
                                                "4+23", fps, split))
                n_subject += 1
    return out


def official_casme3_records() -> list[AnnotationRecord]:
    """CAS(ME)^3 Part A v2: 860 rows from 94 subjects with the official emotion counts (158 `others` and 3
    `Others`); several MEs per clip (distinct onsets)."""
    labels = _labels(CASME3_OFFICIAL_EMOTIONS)
    subjects = [f"spNO.{i}" for i in range(1, 101) if i not in (14, 28, 33, 57, 98, 100)][:CASME3_OFFICIAL_SUBJECTS]
    out, pos = [], 0
    for sub, count in zip(subjects, _spread(len(labels), len(subjects))):
        for j in range(count):
            clip = chr(97 + j % 7)  # 9-10 MEs per subject over clips a..g: some clips hold two
            onset = 100 * (j // 7) + 10 + j
            out.append(AnnotationRecord(sub, clip, onset, onset + 3, onset + 8, labels[pos], "4", 30,
                                        extra={"Objective class": "VII"}))
            pos += 1
    return out


def official_casme2_records() -> list[AnnotationRecord]:
    """CASME II coding sheet: 255 rows from 26 subjects (others 99, disgust 63, happiness 32, repression 27,
    surprise 25, sadness 7, fear 2), arranged so that megc2019-composite keeps 145 samples from 24 subjects
    (88 negative, 32 positive, 25 surprise).

    Which two of the 90 disgust + repression rows MEGC2019 drops is not published. The protocol lists three
    candidate ids (from MEB, which reads an updated sheet with one more row); this fixture places two of them,
    sub04/EP12_01f and sub05/EP12_03f, as negative (disgust / repression) rows and omits the third,
    sub24/EP02_07, so the protocol's exclusion list removes exactly two. Subjects 25 and 26 hold only
    `others`, so 24 subjects remain after the mapping.
    """
    mapped = _labels({k: CASME2_OFFICIAL_EMOTIONS[k] for k in ("disgust", "happiness", "repression", "surprise")})
    # the two listed ids take one disgust and one repression row
    mapped.remove("disgust")
    mapped.remove("repression")
    unmapped = _labels({"others": 99 - 10, "sadness": 7, "fear": 2})  # 10 `others` go to subjects 25/26
    rows: list[tuple[int, str, str]] = [(4, "EP12_01f", "disgust"), (5, "EP12_03f", "repression")]
    it_m, it_u = iter(mapped), iter(unmapped)
    mixed = [next(it_m) if x == "m" else next(it_u) for x in _labels({"m": len(mapped), "u": len(unmapped)})]
    per_subject = _spread(len(mixed), 24)
    pos = 0
    for subj, count in zip(range(1, 25), per_subject):
        for j in range(count):
            rows.append((subj, f"EP{j + 1:02d}_{subj:02d}", mixed[pos]))
            pos += 1
    for subj in (25, 26):
        for j in range(5):
            rows.append((subj, f"EP{j + 1:02d}_{subj:02d}f", "others"))
    out = []
    for i, (subj, clip, emo) in enumerate(rows):
        apex = None if i % 50 == 7 else 46  # a few '/' apexes, as in the official sheet
        out.append(AnnotationRecord(f"sub{subj:02d}", clip, 40, apex, 60, emo, "AU4", 200))
    return out


def official_samm_records() -> list[AnnotationRecord]:
    """SAMM micro sheet: 159 rows (Anger 57, Other 26, Happiness 26, Surprise 15, Contempt 12, Disgust 9,
    Fear 8, Sadness 6) from 30 subjects; subjects 034 and 035 hold only `Other`, so megc2019-composite keeps
    133 samples (92 / 26 / 15) from 28 subjects."""
    mapped = _labels({k: v for k, v in SAMM_OFFICIAL_EMOTIONS.items() if k != "Other"})
    other = ["Other"] * 26
    out = []
    # 28 subjects (006..033) share the mapped rows and 20 `Other`; 034 and 035 get 3 `Other` each
    mixed = _labels({"m": len(mapped), "o": 20})
    it_m, it_o = iter(mapped), iter(other)
    labels = [next(it_m) if x == "m" else next(it_o) for x in mixed]
    pos = 0
    for subj, count in zip(range(6, 34), _spread(len(labels), 28)):
        for j in range(count):
            out.append(AnnotationRecord(f"{subj:03d}", f"{subj:03d}_{j + 1}_{pos + 1}", 1000 + j, 1005 + j,
                                        1020 + j, labels[pos], "R14", 200))
            pos += 1
    for subj in (34, 35):
        for j in range(3):
            out.append(AnnotationRecord(f"{subj:03d}", f"{subj:03d}_{j + 1}_9{j}", 2000, None if j == 0 else 2005,
                                        2020, next(it_o), "AU1", 200))
    return out


def official_smic_records() -> list[AnnotationRecord]:
    """SMIC-HS: 164 micro clips (negative 70, positive 51, surprise 43) from 16 subjects; one frame per clip
    (the folder tree is the annotation, so SMIC cannot be annotation-only)."""
    labels = _labels(SMIC_OFFICIAL)
    short = {"negative": "ne", "positive": "po", "surprise": "sur"}
    out, pos = [], 0
    for s, count in zip(SMIC_OFFICIAL_SUBJECTS, _spread(len(labels), len(SMIC_OFFICIAL_SUBJECTS))):
        for j in range(count):
            emo = labels[pos]
            pos += 1
            frame = 100000 + 37 * j
            out.append(AnnotationRecord(f"s{s}", f"s{s}_{short[emo]}_{j + 1:02d}", frame, None, frame, emo, "", 100))
    return out


def write_official_root(data_root: Path, keys: Sequence[str] = ("dfme", "casme3", "casme2", "samm", "smic")) -> Path:
    """Annotation files with the official counts for `keys` (SMIC with one 8x8 frame per clip)."""
    makers = {"dfme": official_dfme_records, "casme3": official_casme3_records, "casme2": official_casme2_records,
              "samm": official_samm_records, "smic": official_smic_records}
    for key in keys:
        write_dataset(data_root, key, makers[key](), write_frames=(key == "smic"))
    return data_root


def strip_dfme_labels(dataset_root: Path, split: str = "test_B") -> Path:
    """Rewrite one DFME workbook as a participant receives it at test time: no Emotion / EmotionId columns.
    Returns the rewritten file."""
    from harness.datasets.dfme import WRITE_NAMES
    from harness.datasets.xlsx import read_sheet, write_xlsx

    path = Path(dataset_root) / WRITE_NAMES[split]
    sheet = read_sheet(path, None, ["Subject", "Filename"])
    keep = [i for i, h in enumerate(sheet.header) if h not in ("Emotion", "EmotionId")]
    write_xlsx(path, {sheet.name: ([sheet.header[i] for i in keep], [[r[i] for i in keep] for r in sheet.rows])})
    return path
