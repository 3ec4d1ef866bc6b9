"""CAS(ME)^3 Part A, annotation v2 (`cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`, sheet `label`).

Columns: Subject, Filename, Onset, Apex, Offset, AU, Objective class, emotion. Every cell is text in the official
file, numbers included (`'355'`); two more sheets (`Sheet1`, 434 empty rows, and `Sheet3`) hold nothing. Labels come
in mixed case (`others` and `Others`); they are normalised. One clip (Subject, Filename) can hold up to 17
micro-expressions, so the sample id is `<Subject>_<Filename>_<Onset>`, built from the onset as released (an erratum
that corrects an onset does not change the id). Filenames are single letters, one of them an upper-case `J` for
the folder `j`. Frames: `part_A/<Subject>/<Filename>/color/<n>.jpg`, numbered as in the annotation. 30 fps.
Six rows of the v2 file contradict themselves; `errata/casme3-partA-v2.yaml` corrects them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from harness.datasets.base import AnnotationRecord, DatasetAdapter, as_int, cell_text, choose_file
from harness.datasets.tree import child_dir, find_dir
from harness.datasets.xlsx import read_sheet, write_xlsx
from harness.errors import BadInput, Problem

COLUMNS = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
ANNOTATION = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
PATTERNS = ("cas(me)3_part_a_me_label*.xlsx", "*part_a*me*label*.xlsx")
SHEET = "label"
EMPTY_SHEETS = {"Sheet1": (434, 17), "Sheet3": (0, 0)}  # as in the official workbook


class Casme3(DatasetAdapter):
    key = "casme3"
    title = "CAS(ME)^3 Part A (annotation v2)"
    default_fps = 30.0
    vocabulary = ("anger", "disgust", "fear", "happy", "others", "sad", "surprise")
    citation = "Li et al., CAS(ME)^3, IEEE TPAMI 45(3):2782-2800, 2023, doi 10.1109/TPAMI.2022.3174895"
    annotation_name, annotation_sheet = ANNOTATION, SHEET

    def read_rows(self, root: Path, problems: list[Problem]):
        # the v2 file by its exact name first: the official repository also holds other Part A workbooks
        path = choose_file(root, (ANNOTATION,), PATTERNS, problems, "CAS(ME)^3 Part A annotation")
        if path is None:
            problems.append(Problem(str(root), f"no Part A annotation file ({ANNOTATION})",
                                    hint="expected under casme3/annotation/partA/"))
            return [], []
        required = COLUMNS[:5] + ["emotion"]
        try:
            sheet = read_sheet(path, SHEET, required)
        except BadInput:
            sheet = read_sheet(path, None, required)
            problems.append(Problem(str(path), f"no sheet named {SHEET!r}; read sheet {sheet.name!r}, the first one "
                                               "with the annotation's columns", severity="warning"))
        frames_root = find_dir(root, ["part_A"], problems=problems)
        rows = []
        for rec in self.sheet_rows(sheet, problems):
            v, released = rec.values, rec.released
            subject, clip = cell_text(released.get("Subject")), cell_text(released.get("Filename"))
            clip_dir = child_dir(child_dir(child_dir(frames_root, subject), clip), "color")
            rows.append(self.row(sample_id=f"{subject}_{clip}_{as_int(released.get('Onset'))}", subject=subject,
                                 clip=clip, onset=v.get("Onset"), apex=v.get("Apex"), offset=v.get("Offset"),
                                 emotion=v.get("emotion"), aus=v.get("AU"), clip_dir=clip_dir, source_file=path,
                                 source_row=rec.number))
        return rows, [path]

    def expected_clip_hint(self, row):
        return f"casme3/part_A/{row['subject']}/{row['clip']}/color/"

    def frame_path(self, root: Path, record: AnnotationRecord, index: int) -> Path:
        clip = record.extra.get("folder", record.clip)  # the folder of clip `J` is `j`
        return root / "part_A" / record.subject / clip / "color" / f"{index}.jpg"

    def write_annotations(self, root: Path, records: Sequence[AnnotationRecord]) -> list[Path]:
        """The v2 workbook as released: every cell text, the `label` sheet beside two empty ones."""
        def text(v):
            return None if v is None else str(v)

        rows = [[text(c) for c in (r.subject, r.clip, r.onset, r.apex, r.offset, r.aus,
                                   r.extra.get("Objective class", ""), r.emotion)] for r in records]
        path = root / "annotation" / "partA" / ANNOTATION
        write_xlsx(path, {SHEET: (COLUMNS, rows)}, blank=EMPTY_SHEETS)
        return [path]
