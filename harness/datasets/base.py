"""The SampleTable contract and the machinery every dataset adapter shares.

An adapter knows one official release: where its annotation file(s) and frames live, which columns they have,
and how to write that same layout (used by the synthetic corpus and by the tests' format fixtures). It turns
the release into a SampleTable: one row per micro-expression, columns `TABLE_COLUMNS`.

Loading reports every problem in one pass (missing frames, onset > apex, unknown labels, duplicate ids)
instead of stopping at the first: `harness data check` shows them all, a run refuses to start on errors.
"""
from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from harness.errors import Problem
from harness.datasets.frames import list_frames

TABLE_COLUMNS = [
    "sample_id",   # stable, unique within the dataset
    "dataset",     # adapter key: dfme, casme3, casme2, samm, smic
    "subject",     # subject as the release names its folder (sub0003, spNO.1, sub01, 006, s1)
    "clip",        # video / clip name (Filename)
    "onset", "apex", "offset",  # frame numbers as in the annotation; apex may be missing (<NA>)
    "fps",
    "emotion",     # normalised annotation emotion (lower case, single spaces)
    "emotion_raw", # as written in the file
    "aus",         # action units as written
    "split",       # release split: dfme train/test_A/test_B; "all" elsewhere
    "clip_dir",    # folder holding the clip's frames
    "source_file", "source_row",  # where the row came from, for messages
]


def normalise_label(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = re.sub(r"\s+", " ", str(value)).strip().lower()
    return text or None


@dataclass
class AnnotationRecord:
    """One micro-expression to write into an official layout (synthetic corpus, test fixtures)."""

    subject: str
    clip: str
    onset: int
    apex: int | None
    offset: int
    emotion: str          # written verbatim (keep the release's case, e.g. CAS(ME)^3 "Others")
    aus: str = ""
    fps: float = 30.0
    split: str = "all"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadResult:
    table: Any  # pandas.DataFrame with TABLE_COLUMNS
    problems: list[Problem]
    files: list[Path]  # annotation files read (for the data fingerprint)


def as_int(value: Any) -> int | None:
    """Frame numbers arrive as int, float, numeric text, '/', '-1' or blank. None when not a frame number."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int,)):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) or value != int(value) else int(value)
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+(\.0+)?", text):
        return int(float(text))
    return None


class DatasetAdapter(ABC):
    key: str = ""
    title: str = ""
    default_fps: float = 0.0
    vocabulary: tuple[str, ...] = ()  # normalised emotions the release uses
    citation: str = ""

    # ----- reading -----------------------------------------------------------------------------------------
    @abstractmethod
    def read_rows(self, root: Path, problems: list[Problem]) -> tuple[list[dict[str, Any]], list[Path]]:
        """Rows with TABLE_COLUMNS (clip_dir may be None when not found), plus the annotation files read."""

    def load(self, root: Path, check_frames: bool = True) -> LoadResult:
        """Read the release under `root` (the dataset's own folder, e.g. DATA_ROOT/casme2)."""
        import pandas as pd

        problems: list[Problem] = []
        rows, files = self.read_rows(root, problems)
        problems.extend(self._check_rows(rows, check_frames))
        table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
        for c in ("onset", "apex", "offset"):
            table[c] = table[c].astype("Int64")
        table["fps"] = table["fps"].astype(float)
        table["source_row"] = table["source_row"].astype("Int64")
        return LoadResult(table, problems, files)

    def _check_rows(self, rows: list[dict[str, Any]], check_frames: bool) -> Iterable[Problem]:
        seen: dict[str, dict] = {}
        for r in rows:
            f, n = str(r["source_file"]), r["source_row"]
            if r["sample_id"] in seen:
                first = seen[r["sample_id"]]
                yield Problem(f, f"duplicate sample id {r['sample_id']!r} (first at row {first['source_row']})",
                              row=n, hint="each micro-expression must appear once")
            seen.setdefault(r["sample_id"], r)
            on, ap, off = r["onset"], r["apex"], r["offset"]
            if on is None or off is None:
                yield Problem(f, "onset/offset is not a frame number", row=n,
                              column="onset" if on is None else "offset")
                continue
            if on > off:
                yield Problem(f, f"onset {on} is after offset {off}", row=n, column="onset")
            if ap is not None and not (on <= ap <= off):
                yield Problem(f, f"apex {ap} is outside onset..offset {on}..{off}", row=n, column="apex")
            emo = r["emotion"]
            if emo is not None and self.vocabulary and emo not in self.vocabulary:
                yield Problem(f, f"unknown emotion {r['emotion_raw']!r} for {self.key}", row=n, column="emotion",
                              hint=f"expected one of {', '.join(self.vocabulary)}")
            if not (isinstance(r["fps"], (int, float)) and r["fps"] > 0):
                yield Problem(f, f"frame rate {r['fps']!r} is not a positive number", row=n, column="fps")
            if not check_frames:
                continue
            if r["clip_dir"] is None:
                yield Problem(f, f"no frame folder found for {r['sample_id']!r}", row=n,
                              hint=f"expected {self.expected_clip_hint(r)}")
                continue
            frames = list_frames(r["clip_dir"])
            missing = [i for i in range(on, off + 1) if i not in frames] if on <= off else []
            if missing:
                yield Problem(f, f"{len(missing)} frame(s) of {on}..{off} missing in {r['clip_dir']} "
                                 f"(first missing: {missing[0]})", row=n)

    def row(self, *, sample_id: str, subject: str, clip: str, onset: Any, apex: Any, offset: Any, emotion: Any,
            aus: Any, clip_dir: Path | None, source_file: Path, source_row: int | None, split: str = "all",
            fps: Any = None) -> dict[str, Any]:
        """One SampleTable row; normalises the emotion, keeps the raw text, and drops a missing clip folder."""
        return {
            "sample_id": sample_id, "dataset": self.key, "subject": subject, "clip": clip,
            "onset": as_int(onset), "apex": as_int(apex), "offset": as_int(offset),
            "fps": self.default_fps if fps is None else fps, "emotion": normalise_label(emotion),
            "emotion_raw": None if emotion is None else str(emotion), "aus": "" if aus is None else str(aus),
            "split": split, "clip_dir": str(clip_dir) if clip_dir is not None and Path(clip_dir).is_dir() else None,
            "source_file": str(source_file), "source_row": source_row,
        }

    def expected_clip_hint(self, row: dict[str, Any]) -> str:
        return f"a folder for clip {row['clip']!r} of subject {row['subject']!r}"

    # ----- writing -----------------------------------------------------------------------------------------
    @abstractmethod
    def frame_path(self, root: Path, record: AnnotationRecord, index: int) -> Path:
        """Where frame `index` of `record`'s clip lives in the official layout."""

    @abstractmethod
    def write_annotations(self, root: Path, records: Sequence[AnnotationRecord]) -> list[Path]:
        """Write the official annotation file(s) for `records`; returns the files written."""


def find_file(root: Path, patterns: Sequence[str], max_depth: int = 3) -> Path | None:
    """First file under `root` (shallowest first) whose name matches one of `patterns`, case-insensitively."""
    import fnmatch

    pats = [p.lower() for p in patterns]
    frontier = [root]
    for _ in range(max_depth + 1):
        nxt = []
        for d in sorted(frontier):
            try:
                entries = sorted(d.iterdir())
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                continue
            for e in entries:
                if e.is_file() and any(fnmatch.fnmatch(e.name.lower(), p) for p in pats):
                    return e
                if e.is_dir() and not e.name.startswith((".", "_")):
                    nxt.append(e)
        frontier = nxt
    return None


def find_dir(root: Path, names: Sequence[str], max_depth: int = 3) -> Path | None:
    """The shallowest folder named one of `names` (earlier names preferred), looking through a doubled zip folder
    such as CASME2_RAW_selected/CASME2_RAW_selected."""
    wanted = {n.lower() for n in names}
    frontier = [root]
    for _ in range(max_depth + 1):
        nxt = []
        for d in sorted(frontier):
            try:
                entries = sorted(p for p in d.iterdir() if p.is_dir())
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                continue
            hits = {e.name.lower(): e for e in entries if e.name.lower() in wanted}
            for name in names:  # the caller's order is the preference (e.g. raw frames before cropped ones)
                e = hits.get(name.lower())
                if e is not None:
                    inner = next((c for c in sorted(e.iterdir()) if c.is_dir() and c.name.lower() == e.name.lower()),
                                 None)
                    return inner or e
            nxt.extend(e for e in entries if not e.name.startswith((".", "_")))
        frontier = nxt
    return None
