"""CAS(ME)^3 Part A, annotation v2 (`cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`, sheet `label`).

Columns: Subject, Filename, Onset, Apex, Offset, AU, Objective class, emotion. Labels come in mixed case
(`others` and `Others`); they are normalised. One clip (Subject, Filename) can hold several micro-expressions,
so the sample id is `<Subject>_<Filename>_<Onset>`. Frames: `part_A/<Subject>/<Filename>/color/<n>.jpg`, numbered
as in the annotation. 30 fps.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from harness.datasets.base import AnnotationRecord, DatasetAdapter, as_int, find_dir, find_file
from harness.datasets.xlsx import read_sheet, write_xlsx
from harness.errors import Problem

COLUMNS = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
ANNOTATION = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
PATTERNS = ("cas(me)3_part_a_me_label*.xlsx", "*part_a*me*label*.xlsx")


class Casme3(DatasetAdapter):
    key = "casme3"
    title = "CAS(ME)^3 Part A (annotation v2)"
    default_fps = 30.0
    vocabulary = ("anger", "disgust", "fear", "happy", "others", "sad", "surprise")
    citation = "Li et al., CAS(ME)^3, IEEE TPAMI 45(3):2782-2800, 2023, doi 10.1109/TPAMI.2022.3174895"

    def read_rows(self, root: Path, problems: list[Problem]):
        # the v2 file by its exact name first: the official repository also holds other Part A workbooks
        path = find_file(root, (ANNOTATION,), max_depth=3) or find_file(root, PATTERNS, max_depth=3)
        if path is None:
            problems.append(Problem(str(root), f"no Part A annotation file ({ANNOTATION})",
                                    hint="expected under casme3/annotation/partA/"))
            return [], []
        try:
            sheet = read_sheet(path, "label", COLUMNS[:5] + ["emotion"])
        except Exception:
            sheet = read_sheet(path, None, COLUMNS[:5] + ["emotion"])
            problems.append(Problem(str(path), "no sheet named 'label'; read the first sheet instead",
                                    severity="warning"))
        frames_root = find_dir(root, ["part_A"])
        rows = []
        for n, rec in sheet.records():
            subject = str(rec.get("Subject") or "").strip()
            clip = str(rec.get("Filename") or "").strip()
            onset = as_int(rec.get("Onset"))
            clip_dir = frames_root / subject / clip / "color" if frames_root else None
            rows.append(self.row(sample_id=f"{subject}_{clip}_{onset}", subject=subject, clip=clip, onset=onset,
                                 apex=rec.get("Apex"), offset=rec.get("Offset"), emotion=rec.get("emotion"),
                                 aus=rec.get("AU"), clip_dir=clip_dir, source_file=path, source_row=n))
        return rows, [path]

    def expected_clip_hint(self, row):
        return f"casme3/part_A/{row['subject']}/{row['clip']}/color/"

    def frame_path(self, root: Path, record: AnnotationRecord, index: int) -> Path:
        return root / "part_A" / record.subject / record.clip / "color" / f"{index}.jpg"

    def write_annotations(self, root: Path, records: Sequence[AnnotationRecord]) -> list[Path]:
        rows = [[r.subject, r.clip, r.onset, r.apex, r.offset, r.aus, r.extra.get("Objective class", ""), r.emotion]
                for r in records]
        path = root / "annotation" / "partA" / ANNOTATION
        write_xlsx(path, {"label": (COLUMNS, rows)})
        return [path]
