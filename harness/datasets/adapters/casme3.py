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
from harness.datasets.synthetic import DefectKind, OfficialSplit, SyntheticLayout, one
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
    official = (OfficialSplit("all", 94, 860, {"disgust": 250, "surprise": 187, "others": 158, "Others": 3, "fear": 86,
                                               "anger": 64, "sad": 57, "happy": 55},
                              clips=463, label_only=((6, ("others", "Others")),)),)
    synthetic = SyntheticLayout(
        subjects=11, samples_per_subject=11.0,
        emotion={"disgust": one("disgust"), "surprise": one("surprise"), "others": one("others"),
                 "Others": one("others"), "fear": one("fear"), "anger": one("anger"), "sad": one("sadness"),
                 "happy": one("happiness")},
        subject_pool=(1, 217), subject_format="spNO.{}", first_frame=(60, 3000), events_per_clip=(1, 4),
        gap_ms=(300.0, 1000.0), objective_class="Objective class",
        defects=(
            DefectKind("apex-before-onset", "CAS(ME)^3 row 130 (apex 83, onset 112)",
                       lambda f: (f[0], max(0, f[0] - 29), f[2]), True, True),
            DefectKind("offset-digits-appended", "CAS(ME)^3 row 710 (offset 34 written 3460)",
                       lambda f: (f[0], f[1], f[2] * 100 + 60), True),
            DefectKind("onset-after-offset", "CAS(ME)^3 row 751 (onset 2647 written 3647)",
                       lambda f: (f[0] + 1000, f[1], f[2]), True),
            DefectKind("onset-apex-zero", "CAS(ME)^3 row 752 (onset and apex 0)", lambda f: (0, 0, f[2]), True, True),
            DefectKind("offset-zero", "CAS(ME)^3 row 798 (offset 0)", lambda f: (f[0], f[1], 0), True),
            DefectKind("offset-zero-again", "CAS(ME)^3 row 800 (a second offset 0 in the same clip)",
                       lambda f: (f[0], f[1], 0), True, same_clip_as="offset-zero"),
            DefectKind("offset-zero-unlisted", "a defect no erratum lists (policy: sample excluded)",
                       lambda f: (f[0], f[1], 0), False),
        ),
        key_frame_columns=("Onset", "Apex", "Offset"), identity_columns=("Subject", "Filename", "Onset"),
        written_clip={"j": "J"}, max_clips_per_subject=13, title="CAS(ME)^3 Part A (v2 annotation)")

    def sample_id(self, subject: str, clip: str, onset) -> str:
        return f"{subject}_{clip}_{as_int(onset)}"  # a clip holds several MEs; the onset as released

    def synthetic_clip_names(self, r, number: int, subject: str, labels: list[str]) -> list[str]:
        letters = "abcdefghijklmnopqrstuvwxyz"
        picks = sorted(r.choice(13 if len(labels) <= 13 else 26, size=len(labels), replace=False))
        return [letters[i] for i in picks]

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
            rows.append(self.row(sample_id=self.sample_id(subject, clip, released.get("Onset")), subject=subject,
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


ADAPTER = Casme3
