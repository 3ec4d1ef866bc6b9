"""CASME II: `CASME2-coding-20140508.xlsx` and frames `CASME2_RAW_selected/sub<NN>/<Filename>/img<n>.jpg`.

Columns: Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Action Units, Estimated Emotion. The original
sheet has 9 columns, two of them with a blank header (C and G); re-saved copies have 7. The subject column holds
a number in some copies (1) and text in others ('01'); both mean folder sub01. A missing apex is written '/' (21
rows of the original): it loads as missing (a note). 200 fps. Filenames repeat across subjects, so the sample id
is `sub<NN>/<Filename>`.

The 2019-07-01 re-issue adds an `Objective Classes` column and differs in 58 rows (three sub24 clips are
`surprise` instead of `sadness`): loading it warns, because a MEGC2019 composite built from it has 148 CASME II
samples instead of the official 145.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from harness.datasets.base import AnnotationRecord, DatasetAdapter, as_int, cell_text, choose_file
from harness.datasets.synthetic import OfficialSplit, SyntheticLayout, one
from harness.datasets.tree import child_dir, find_dir
from harness.datasets.xlsx import read_sheet, write_xlsx
from harness.errors import Problem

COLUMNS = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]
ANNOTATION = "CASME2-coding-20140508.xlsx"
PATTERNS = ("casme2-coding*.xlsx", "casme2*coding*.xlsx")
REISSUE_COLUMN = "Objective Classes"  # only the 2019-07-01 re-issue has it
# sheet layouts as published: the original with its two blank-headed columns, a re-saved copy, the re-issue
LAYOUTS: dict[str, list[str | None]] = {
    "original": ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
                 "Estimated Emotion"],
    "resaved": COLUMNS,
    "reissue-2019": [*COLUMNS, REISSUE_COLUMN],
}


def subject_folder(value: Any) -> str:
    n = as_int(value)
    text = str(value).strip()
    return f"sub{n:02d}" if n is not None else text


class Casme2(DatasetAdapter):
    key = "casme2"
    title = "CASME II"
    default_fps = 200.0
    vocabulary = ("disgust", "fear", "happiness", "others", "repression", "sadness", "surprise")
    citation = "Yan et al., CASME II, PLoS ONE 9(1):e86041, 2014"
    official = (OfficialSplit("all", 26, 255, {"others": 99, "disgust": 63, "happiness": 32, "repression": 27,
                                               "surprise": 25, "sadness": 7, "fear": 2},
                              label_only=((2, ("others", "sadness", "fear")),)),)
    synthetic = SyntheticLayout(
        subjects=5, samples_per_subject=9.0,
        emotion={e: one(e) for e in ("others", "disgust", "happiness", "repression", "surprise", "sadness", "fear")},
        subject_pool=(1, 26), subject_format="sub{:02d}", first_frame=(1, 400), missing_apex="/",
        # both negative in the release (disgust or repression: the reference does not say which)
        pinned=((4, "EP12_01f", "disgust"), (5, "EP09_05f", "disgust")), title="CASME II")

    def sample_id(self, subject: str, clip: str, onset) -> str:
        return f"{subject}/{clip}"  # Filenames repeat across subjects

    def synthetic_clip_names(self, r, number: int, subject: str, labels: list[str]) -> list[str]:
        pairs = r.choice(19 * 9, size=len(labels), replace=False)
        return [f"EP{p // 9 + 1:02d}_{p % 9 + 1:02d}{'f' if r.random() < 0.5 else ''}" for p in pairs]

    def read_rows(self, root: Path, problems: list[Problem]):
        path = choose_file(root, (ANNOTATION,), PATTERNS, problems, "CASME II coding", max_depth=2)
        if path is None:
            problems.append(Problem(str(root), f"no coding sheet ({ANNOTATION})"))
            return [], []
        sheet = read_sheet(path, None, COLUMNS)
        if REISSUE_COLUMN in sheet.header:
            problems.append(Problem(str(path), f"this is the 2019-07-01 re-issue of the coding sheet (it has an "
                                               f"{REISSUE_COLUMN!r} column), not the 2014-05-08 release: it differs "
                                               "in 58 rows, and a MEGC2019 composite built from it has 148 CASME II "
                                               "samples instead of the official 145", severity="warning",
                                    hint=f"use {ANNOTATION} for the official protocols"))
        frames_root = find_dir(root, ["CASME2_RAW_selected", "CASME2_RAW", "CASME2_Cropped"], problems=problems)
        rows = []
        for rec in self.sheet_rows(sheet, problems):
            v, n = rec.values, rec.number
            subject = subject_folder(rec.released.get("Subject"))
            clip = cell_text(rec.released.get("Filename"))
            apex = as_int(v.get("ApexFrame"))
            if apex is None:
                problems.append(Problem(str(path), f"apex {v.get('ApexFrame')!r} is not coded; treated as missing",
                                        row=n, column="ApexFrame", severity="note"))
            rows.append(self.row(sample_id=self.sample_id(subject, clip, None), subject=subject, clip=clip,
                                 onset=v.get("OnsetFrame"), apex=apex, offset=v.get("OffsetFrame"),
                                 emotion=v.get("Estimated Emotion"), aus=v.get("Action Units"),
                                 clip_dir=child_dir(child_dir(frames_root, subject), clip), source_file=path,
                                 source_row=n))
        return rows, [path]

    def expected_clip_hint(self, row):
        return f"casme2/CASME2_RAW_selected/{row['subject']}/{row['clip']}/"

    def frame_path(self, root: Path, record: AnnotationRecord, index: int) -> Path:
        return root / "CASME2_RAW_selected" / subject_folder(record.subject) / record.clip / f"img{index}.jpg"

    def write_annotations(self, root: Path, records: Sequence[AnnotationRecord]) -> list[Path]:
        path = root / ANNOTATION
        write_coding_sheet(path, records)
        return [path]


def write_coding_sheet(path: Path, records: Sequence[AnnotationRecord], layout: str = "original",
                       subject_as: str = "number") -> None:
    """The coding sheet in one of its published layouts (`LAYOUTS`), Subject as a number (1) or text ('01')."""
    header = LAYOUTS[layout]

    def subject(r: AnnotationRecord):
        n = as_int(r.subject.replace("sub", ""))
        if n is None:
            return r.subject
        return n if subject_as == "number" else f"{n:02d}"

    rows = []
    for r in records:
        cells = {"Subject": subject(r), "Filename": r.clip, "OnsetFrame": r.onset,
                 "ApexFrame": r.apex if r.apex is not None else "/", "OffsetFrame": r.offset, "Action Units": r.aus,
                 "Estimated Emotion": r.emotion, REISSUE_COLUMN: r.extra.get(REISSUE_COLUMN, "")}
        rows.append([cells[h] if h else None for h in header])
    write_xlsx(path, {"Sheet1": (header, rows)})


ADAPTER = Casme2
