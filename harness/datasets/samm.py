"""SAMM: `SAMM_Micro_FACS_Codes_v2.xlsx` (a text preamble above the header row) and frames
`SAMM/<NNN>/<Filename>/<NNN>_<nnnnn>.jpg`.

Columns: Subject, Filename, Inducement Code, Onset Frame, Apex Frame, Offset Frame, Duration, Micro,
Action Units, Estimated Emotion, Objective Classes, Notes. The header row is found, not assumed. An apex of -1
means "not coded" and loads as missing (a warning). 200 fps; Filename (e.g. 006_1_2) is unique.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from harness.datasets.base import AnnotationRecord, DatasetAdapter, as_int, find_dir, find_file
from harness.datasets.xlsx import read_sheet, write_xlsx
from harness.errors import Problem

COLUMNS = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
           "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
REQUIRED = ["Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Estimated Emotion"]
ANNOTATION = "SAMM_Micro_FACS_Codes_v2.xlsx"
PREAMBLE = [
    "SAMM: Spontaneous Actions and Micro-Movements",
    "Micro-movement FACS codes, version 2",
    "Frame numbers refer to the frame files of each sequence.",
    "Apex Frame -1: apex not coded.",
    "", "", "", "", "", "", "", "",
    "",
]


def subject_folder(value: Any) -> str:
    n = as_int(value)
    return f"{n:03d}" if n is not None else str(value).strip()


class Samm(DatasetAdapter):
    key = "samm"
    title = "SAMM"
    default_fps = 200.0
    vocabulary = ("anger", "contempt", "disgust", "fear", "happiness", "other", "sadness", "surprise")
    citation = "Davison et al., SAMM, IEEE TAFFC 9(1):116-129, 2018"

    def read_rows(self, root: Path, problems: list[Problem]):
        path = find_file(root, ("samm_micro_facs_codes*.xlsx",), max_depth=2)
        if path is None:
            problems.append(Problem(str(root), f"no FACS codes workbook ({ANNOTATION})"))
            return [], []
        sheet = read_sheet(path, None, REQUIRED)
        frames_root = find_dir(root, ["SAMM", "SAMM_CROP"])
        rows = []
        for n, rec in sheet.records():
            subject = subject_folder(rec.get("Subject"))
            clip = str(rec.get("Filename") or "").strip()
            apex = as_int(rec.get("Apex Frame"))
            if apex is None or apex < 0:
                problems.append(Problem(str(path), f"apex {rec.get('Apex Frame')!r} not coded; treated as missing",
                                        row=n, column="Apex Frame", severity="warning"))
                apex = None
            clip_dir = frames_root / subject / clip if frames_root else None
            rows.append(self.row(sample_id=clip, subject=subject, clip=clip, onset=rec.get("Onset Frame"), apex=apex,
                                 offset=rec.get("Offset Frame"), emotion=rec.get("Estimated Emotion"),
                                 aus=rec.get("Action Units"), clip_dir=clip_dir, source_file=path, source_row=n))
        return rows, [path]

    def expected_clip_hint(self, row):
        return f"samm/SAMM/{row['subject']}/{row['clip']}/"

    def frame_path(self, root: Path, record: AnnotationRecord, index: int) -> Path:
        s = subject_folder(record.subject)
        return root / "SAMM" / s / record.clip / f"{s}_{index:05d}.jpg"

    def write_annotations(self, root: Path, records: Sequence[AnnotationRecord]) -> list[Path]:
        rows = []
        for r in records:
            rows.append([as_int(r.subject) if as_int(r.subject) is not None else r.subject, r.clip,
                         r.extra.get("Inducement Code", 1), r.onset, -1 if r.apex is None else r.apex, r.offset,
                         r.offset - r.onset + 1, "Micro - 1/2", r.aus, r.emotion,
                         r.extra.get("Objective Classes", ""), r.extra.get("Notes", "")])
        path = root / ANNOTATION
        write_xlsx(path, {"MICRO_ONLY": (COLUMNS, rows)}, preamble={"MICRO_ONLY": PREAMBLE})
        return [path]
