"""The SampleTable contract and the machinery every dataset adapter shares.

An adapter knows one official release: where its annotation file(s) and frames live, which columns they have,
and how to write that same layout (used by the synthetic corpus and by the tests' format fixtures). It turns
the release into a SampleTable: one row per micro-expression, columns `TABLE_COLUMNS`.

Loading reports every problem in one pass (missing frames, unknown labels, duplicate ids, the errata it applied,
the defects it worked around) instead of stopping at the first: `harness data check` shows them all, a run
refuses to start on errors. What counts as an error, a warning or a correction is `harness.datasets.policy`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from harness.datasets.cells import as_int, cell_text, normalise_label
from harness.datasets.policy import DEFAULT, DROP_APEX, LoadOptions, key_frame_defect
from harness.datasets.synthetic import OfficialSplit, SyntheticLayout
from harness.errors import Problem

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
    "defect",      # why no protocol can use the row (key frames that contradict, no erratum); None when usable
]


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
    errata: list[str] = field(default_factory=list)  # labels of the errata sets applied (name@version ...)


class DatasetAdapter(ABC):
    """Everything about one official release, in one place: how to read and write its layout, its sample-id
    rule, its official counts and how a synthetic copy of it is laid out (the generator and the tests ask here)."""

    key: str = ""
    title: str = ""
    default_fps: float = 0.0
    vocabulary: tuple[str, ...] = ()  # normalised emotions the release uses
    citation: str = ""
    # a release with one annotation sheet: its file name, sheet and header row (the synthetic errata name rows)
    annotation_name: str = ""
    annotation_sheet: str | None = None
    header_row: int = 1
    official: tuple[OfficialSplit, ...] = ()     # the official files' counts, split by split
    synthetic: SyntheticLayout | None = None     # None: `harness data synth` cannot imitate this release

    # ----- identity ----------------------------------------------------------------------------------------
    @abstractmethod
    def sample_id(self, subject: str, clip: str, onset: Any) -> str:
        """The stable id of one micro-expression, from its row as released (an erratum never changes it)."""

    def official_split(self, name: str) -> OfficialSplit:
        return next(s for s in self.official if s.name == name)

    # ----- a synthetic copy (read by harness.synth) --------------------------------------------------------
    def synthetic_clip_names(self, r, number: int, subject: str, labels: list[str]) -> list[str]:
        """Names of a synthetic subject's clips, as the release names them (one per first label of a clip)."""
        return [f"{subject}_{i + 1:02d}" for i in range(len(labels))]

    def synthetic_extra(self, clip: str) -> dict[str, Any]:
        """Further annotation cells of a synthetic clip (SAMM's inducement code)."""
        return {}

    # ----- reading -----------------------------------------------------------------------------------------
    @abstractmethod
    def read_rows(self, root: Path, problems: list[Problem]) -> tuple[list[dict[str, Any]], list[Path]]:
        """Rows with TABLE_COLUMNS (clip_dir may be None when not found), plus the annotation files read.
        Sheet rows go through `self.sheet_rows`, which applies the errata."""

    def load(self, root: Path, check_frames: bool = True, options: LoadOptions = DEFAULT,
             data_root: Path | None = None) -> LoadResult:
        """Read the release under `root` (the dataset's own folder, e.g. DATA_ROOT/casme2)."""
        import pandas as pd

        from harness.datasets import errata as E

        self._errata = E.errata_for(self.key, Path(data_root) if data_root else Path(root).parent, options)
        self._errata_matched: list = []
        self._errata_used: list = []
        problems: list[Problem] = []
        rows, files = self.read_rows(root, problems)
        problems.extend(E.unused_problems(self._errata, self._errata_matched, Path(root)))
        problems.extend(self._check_rows(rows, check_frames))
        if options.strict:
            problems = [_strict(p) for p in problems]
        table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
        for c in ("onset", "apex", "offset"):
            table[c] = table[c].astype("Int64")
        table["fps"] = table["fps"].astype(float)
        table["source_row"] = table["source_row"].astype("Int64")
        return LoadResult(table, problems, files, E.labels(self._errata_used))

    def sheet_rows(self, sheet, problems: list[Problem]) -> list:
        """The rows of an annotation sheet with this load's errata applied (`SheetRow`: values corrected,
        `released` as in the file: build sample ids from `released`)."""
        from harness.datasets import errata as E

        rows, done, matched, used = E.apply_errata(sheet.path, sheet.name, sheet.header, sheet.records(),
                                                   getattr(self, "_errata", []))
        problems.extend(done)
        self._errata_matched = [*getattr(self, "_errata_matched", []), *matched]
        self._errata_used = [*getattr(self, "_errata_used", []), *used]
        return rows

    def _check_rows(self, rows: list[dict[str, Any]], check_frames: bool) -> Iterable[Problem]:
        from harness.datasets.frames import FrameFileError

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
            rule = key_frame_defect(on, ap, off)
            if rule is not None:
                yield self._work_around(r, rule)
            emo = r["emotion"]
            if emo is not None and self.vocabulary and emo not in self.vocabulary:
                yield Problem(f, f"unknown emotion {r['emotion_raw']!r} for {self.key}", row=n, column="emotion",
                              hint=f"expected one of {', '.join(self.vocabulary)}")
            if not (isinstance(r["fps"], (int, float)) and r["fps"] > 0):
                yield Problem(f, f"frame rate {r['fps']!r} is not a positive number", row=n, column="fps")
            if not check_frames or r["defect"]:  # an excluded row's frames are never read
                continue
            if r["clip_dir"] is None:
                yield Problem(f, f"no frame folder found for {r['sample_id']!r}", row=n,
                              hint=f"expected {self.expected_clip_hint(r)}")
                continue
            try:
                yield from self._check_frames(r)
            except FrameFileError as exc:
                yield Problem(exc.path, f"{str(exc).removeprefix(exc.path + ': ')} (frame of {r['sample_id']!r}, "
                                        f"{f} row {n})", hint="fix or remove the link")

    def _work_around(self, r: dict[str, Any], rule) -> Problem:
        """Apply the defect policy to one row: drop its apex, or mark it excluded. Returns the warning."""
        on, ap, off = r["onset"], r["apex"], r["offset"]
        what = f"onset {on}, apex {'-' if ap is None else ap}, offset {off}"
        if rule.action == DROP_APEX:
            r["apex"] = None
            done = "apex treated as missing (bundles spot it)"
        else:
            r["defect"] = f"{self.key}: key frames contradict ({rule.title})"
            done = "sample excluded from every protocol (counted in `harness protocols show`)"
        return Problem(str(r["source_file"]), f"{rule.title} ({what}) and no erratum covers it: {done}",
                       row=r["source_row"], column="apex" if rule.action == DROP_APEX else "onset",
                       severity="warning", hint="an errata file can correct it (--errata FILE)")

    def _check_frames(self, r: dict[str, Any]) -> Iterable[Problem]:
        """Every frame of onset..offset must exist; the key frames must be whole images (a cheap check of the
        format's signature and end marker, see frames.image_defect)."""
        from harness.datasets.frames import image_defect, list_frames

        f, n, on, off = str(r["source_file"]), r["source_row"], r["onset"], r["offset"]
        frames = list_frames(r["clip_dir"])
        missing = [i for i in range(on, off + 1) if i not in frames]
        if missing:
            yield Problem(f, f"{len(missing)} frame(s) of {on}..{off} missing in {r['clip_dir']} "
                             f"(first missing: {missing[0]})", row=n)
        for i in dict.fromkeys(k for k in (on, r["apex"], off) if k is not None and k in frames):
            why = image_defect(frames[i])
            if why:
                yield Problem(str(frames[i]), f"frame {i} of {r['sample_id']!r} {why} ({f} row {n})",
                              hint="replace the file with the release's frame")

    def row(self, *, sample_id: str, subject: str, clip: str, onset: Any, apex: Any, offset: Any, emotion: Any,
            aus: Any, clip_dir: Path | None, source_file: Path, source_row: int | None, split: str = "all",
            fps: Any = None) -> dict[str, Any]:
        """One SampleTable row; normalises the emotion, keeps the raw text, and drops a missing clip folder."""
        return {
            "sample_id": sample_id, "dataset": self.key, "subject": subject, "clip": clip,
            "onset": as_int(onset), "apex": as_int(apex), "offset": as_int(offset),
            "fps": self.default_fps if fps is None else fps, "emotion": normalise_label(emotion),
            "emotion_raw": None if emotion is None else str(emotion), "aus": cell_text(aus),
            "split": split, "clip_dir": str(clip_dir) if clip_dir is not None and Path(clip_dir).is_dir() else None,
            "source_file": str(source_file), "source_row": source_row, "defect": None,
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


def _strict(p: Problem) -> Problem:
    """--strict: a warning becomes an error (corrections and notes stay what they are)."""
    if p.severity != "warning":
        return p
    from dataclasses import replace

    return replace(p, severity="error", hint=((p.hint + "; ") if p.hint else "") + "an error under --strict")


def choose_file(root: Path, preferred: Sequence[str], patterns: Sequence[str], problems: list[Problem],
                what: str, max_depth: int = 3) -> Path | None:
    """The annotation file to read under `root`: the one named as the release names it (`preferred`, in order),
    else the first match of `patterns`, shallowest first. When several match, a warning names them all and says
    which one was read and why: a folder with two versions of a sheet is never read silently."""
    from harness.datasets.tree import find_files

    found = find_files(root, [*preferred, *patterns], max_depth, problems)
    if not found:
        return None
    names = [n.lower() for n in preferred]
    by_pref = sorted((f for f in found if f.name.lower() in names), key=lambda f: names.index(f.name.lower()))
    chosen = by_pref[0] if by_pref else found[0]
    if len(found) > 1:
        why = ("it has the release's own file name" if by_pref else "no file has the release's own name "
               f"({', '.join(preferred)}); it is the shallowest and first by name")
        others = ", ".join(str(f) for f in found if f != chosen)
        problems.append(Problem(str(chosen), f"{len(found)} {what} files: read this one ({why}); not read: {others}",
                                severity="warning", hint="move the other versions out of the data root to silence "
                                                         "this"))
    return chosen
