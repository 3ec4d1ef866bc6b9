"""SAMM: `SAMM_Micro_FACS_Codes_v2.xlsx` (sheet MICRO_ONLY: a 13-row text preamble, the header in row 14) and
frames `SAMM/<NNN>/<Filename>/<NNN>_<nnnnn>.jpg`.

Columns: Subject, Filename, Inducement Code, Onset Frame, Apex Frame, Offset Frame, Duration, Micro,
Action Units, Estimated Emotion, Objective Classes, Notes. Subject is text ('006'). The header row is found, not
assumed. An apex of -1 means "not coded" and loads as missing (a note). 200 fps; Filename (e.g. 006_1_2) is
unique and is the sample id. Two rows have an apex outside onset..offset; `errata/samm-v2.yaml` corrects them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from harness.datasets.base import AnnotationRecord, DatasetAdapter, as_int, cell_text, choose_file
from harness.datasets.synthetic import DefectKind, OfficialSplit, SyntheticLayout, one
from harness.datasets.tree import child_dir, find_dir
from harness.datasets.xlsx import read_sheet, write_xlsx
from harness.errors import Problem

COLUMNS = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
           "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
REQUIRED = ["Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Estimated Emotion"]
ANNOTATION = "SAMM_Micro_FACS_Codes_v2.xlsx"
SHEET = "MICRO_ONLY"
# 13 rows above the header, as in the release: title, citation notes, a symbol key and AU help
PREAMBLE = [
    "SAMM: Spontaneous Actions and Micro-Movements - Micro-Movement FACS Codes (v2)",
    "Please cite the SAMM dataset paper when using these codes.",
    "Davison, Lansley, Costen, Tan and Yap, IEEE Transactions on Affective Computing, 2018.",
    "",
    "Symbol Key",
    "(the release's key to the symbols of the Action Units column)",
    "",
    "",
    "AU Help",
    "(the release's notes on reading the Action Units)",
    "",
    "",
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
    annotation_name, annotation_sheet, header_row = ANNOTATION, SHEET, len(PREAMBLE) + 1
    official = (OfficialSplit("all", 29, 159, {"Anger": 57, "Other": 26, "Happiness": 26, "Surprise": 15,
                                               "Contempt": 12, "Disgust": 9, "Fear": 8, "Sadness": 6},
                            label_only=((1, ("Other",)),)),)
    synthetic = SyntheticLayout(
        subjects=5, samples_per_subject=9.0,
        emotion={"Anger": one("anger"), "Other": one("others"), "Happiness": one("happiness"),
                 "Surprise": one("surprise"), "Contempt": one("contempt"), "Disgust": one("disgust"),
                 "Fear": one("fear"), "Sadness": one("sadness")},
        subject_pool=(6, 37), subject_format="{:03d}", first_frame=(1000, 9000), missing_apex="-1",
        objective_class="Objective Classes",
        defects=(
            DefectKind("apex-after-offset", "SAMM row 140 (apex 1143, offset 1134)",
                       lambda f: (f[0], f[2] + 9, f[2]), True, True),
            DefectKind("apex-digit-slip", "SAMM row 147 (apex 1930, onset 4896)",  # 4945 (or 4930) written 1930
                       lambda f: (f[0], f[1] - 3000 if f[1] - 3000 >= 0 else f[1] // 3, f[2]), True, True),
            DefectKind("apex-outside-unlisted", "a defect no erratum lists (policy: apex treated as missing)",
                       lambda f: (f[0], f[2] + 20, f[2]), False, True),
        ),
        key_frame_columns=("Onset Frame", "Apex Frame", "Offset Frame"), title="SAMM")

    def sample_id(self, subject: str, clip: str, onset) -> str:
        return clip  # Filename (006_1_2) is unique

    def synthetic_clip_names(self, r, number: int, subject: str, labels: list[str]) -> list[str]:
        counts: dict[int, int] = {}
        out = []
        for _ in labels:
            ind = int(r.integers(1, 8))
            counts[ind] = counts.get(ind, 0) + 1
            out.append(f"{number:03d}_{ind}_{counts[ind]}")
        return out

    def synthetic_extra(self, clip: str) -> dict:
        return {"Inducement Code": int(clip.split("_")[1]), "Notes": ""}

    def read_rows(self, root: Path, problems: list[Problem]):
        path = choose_file(root, (ANNOTATION,), ("samm_micro_facs_codes*.xlsx",), problems, "SAMM FACS codes",
                           max_depth=2)
        if path is None:
            problems.append(Problem(str(root), f"no FACS codes workbook ({ANNOTATION})"))
            return [], []
        sheet = read_sheet(path, None, REQUIRED)
        frames_root = find_dir(root, ["SAMM", "SAMM_CROP"], problems=problems)
        rows = []
        for rec in self.sheet_rows(sheet, problems):
            v, n = rec.values, rec.number
            subject = subject_folder(rec.released.get("Subject"))
            clip = cell_text(rec.released.get("Filename"))
            apex = as_int(v.get("Apex Frame"))
            if apex is None or apex < 0:
                problems.append(Problem(str(path), f"apex {v.get('Apex Frame')!r} not coded; treated as missing",
                                        row=n, column="Apex Frame", severity="note"))
                apex = None
            rows.append(self.row(sample_id=self.sample_id(subject, clip, None), subject=subject, clip=clip,
                                 onset=v.get("Onset Frame"), apex=apex,
                                 offset=v.get("Offset Frame"), emotion=v.get("Estimated Emotion"),
                                 aus=v.get("Action Units"), clip_dir=child_dir(child_dir(frames_root, subject), clip),
                                 source_file=path, source_row=n))
        return rows, [path]

    def expected_clip_hint(self, row):
        return f"samm/SAMM/{row['subject']}/{row['clip']}/"

    def frame_path(self, root: Path, record: AnnotationRecord, index: int) -> Path:
        s = subject_folder(record.subject)
        return root / "SAMM" / s / record.clip / f"{s}_{index:05d}.jpg"

    def write_annotations(self, root: Path, records: Sequence[AnnotationRecord]) -> list[Path]:
        rows = []
        for r in records:
            rows.append([subject_folder(r.subject), r.clip,  # Subject as text ('006'), as released
                         r.extra.get("Inducement Code", 1), r.onset, -1 if r.apex is None else r.apex, r.offset,
                         r.offset - r.onset + 1, "Micro - 1/2", r.aus, r.emotion,
                         r.extra.get("Objective Classes", ""), r.extra.get("Notes", "")])
        path = root / ANNOTATION
        write_xlsx(path, {SHEET: (COLUMNS, rows)}, preamble={SHEET: PREAMBLE})
        return [path]


ADAPTER = Samm
