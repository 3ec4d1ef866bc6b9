"""CASME II: `CASME2-coding-20140508.xlsx` and frames `CASME2_RAW_selected/sub<NN>/<Filename>/img<n>.jpg`.

Columns: Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Action Units, Estimated Emotion. The subject
column holds numbers (1 -> folder sub01). Some apexes are '/' in the official sheet: they load as missing and are
reported as warnings. 200 fps. Filenames repeat across subjects, so the sample id is `sub<NN>/<Filename>`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from harness.datasets.base import AnnotationRecord, DatasetAdapter, as_int, find_dir, find_file
from harness.datasets.xlsx import read_sheet, write_xlsx
from harness.errors import Problem

COLUMNS = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]
ANNOTATION = "CASME2-coding-20140508.xlsx"


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

    def read_rows(self, root: Path, problems: list[Problem]):
        path = find_file(root, ("casme2-coding*.xlsx", "casme2*coding*.xlsx"), max_depth=2)
        if path is None:
            problems.append(Problem(str(root), f"no coding sheet ({ANNOTATION})"))
            return [], []
        sheet = read_sheet(path, None, COLUMNS)
        frames_root = find_dir(root, ["CASME2_RAW_selected", "CASME2_RAW", "CASME2_Cropped"])
        rows = []
        for n, rec in sheet.records():
            subject = subject_folder(rec.get("Subject"))
            clip = str(rec.get("Filename") or "").strip()
            apex = as_int(rec.get("ApexFrame"))
            if apex is None:
                problems.append(Problem(str(path), f"apex {rec.get('ApexFrame')!r} is not a frame number; "
                                        "treated as missing", row=n, column="ApexFrame", severity="warning"))
            clip_dir = frames_root / subject / clip if frames_root else None
            rows.append(self.row(sample_id=f"{subject}/{clip}", subject=subject, clip=clip,
                                 onset=rec.get("OnsetFrame"), apex=apex, offset=rec.get("OffsetFrame"),
                                 emotion=rec.get("Estimated Emotion"), aus=rec.get("Action Units"),
                                 clip_dir=clip_dir, source_file=path, source_row=n))
        return rows, [path]

    def expected_clip_hint(self, row):
        return f"casme2/CASME2_RAW_selected/{row['subject']}/{row['clip']}/"

    def frame_path(self, root: Path, record: AnnotationRecord, index: int) -> Path:
        return root / "CASME2_RAW_selected" / subject_folder(record.subject) / record.clip / f"img{index}.jpg"

    def write_annotations(self, root: Path, records: Sequence[AnnotationRecord]) -> list[Path]:
        rows = [[as_int(r.subject.replace("sub", "")) or r.subject, r.clip, r.onset,
                 r.apex if r.apex is not None else "/", r.offset, r.aus, r.emotion] for r in records]
        path = root / ANNOTATION
        write_xlsx(path, {"Sheet1": (COLUMNS, rows)})
        return [path]
