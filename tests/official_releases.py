"""Fixtures with the real composition of the official annotation files (helpers only; no tests in this module).

Everything here reproduces `shared/reference/real-annotation-files.md`, the checked facts about the official
files: row, subject, clip and class counts per file and split, the rows whose key frames contradict each other at
their sheet rows with their identities and released values, text-typed cells, blank-headed columns, `/` apexes,
SAMM's preamble and text subjects, integer AU cells, the MEGC2019 list. The licensed files themselves are never
used: the ids, frame numbers and labels of all other rows are made up, deterministic, and only their counts are
the release's.

Each builder returns the records *as released* (defects and all) and writes through the adapters' own writers.
Frames are placeholders, written only where a test needs them (`frames=True`), for the *corrected* spans (the
release's frames cover the clip, not the defect).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

from harness.datasets import get_adapter
from harness.datasets.base import AnnotationRecord, normalise_label
from tests.formats import DFME_CLASSES, write_dataset

# ----- the reference's numbers --------------------------------------------------------------------------------------
# Counts the adapters own (their `official` splits) are asked of them; what only these fixtures need stays here.
_DFME, _CASME3, _CASME2, _SAMM, _SMIC = (get_adapter(k) for k in ("dfme", "casme3", "casme2", "samm", "smic"))
DFME_FPS = (500, 300, 200)
_ONSET_ZERO = {"train": 883, "test_A": 240, "test_B": 117}   # rows with OnsetFrame 0
DFME = {  # split: samples, subjects, classes in DFME_CLASSES order, rows at 500/300/200 fps, rows with OnsetFrame 0
    s.name: (s.samples, s.subjects, tuple(s.labels[c] for c in DFME_CLASSES), tuple(s.fps[f] for f in DFME_FPS),
             _ONSET_ZERO[s.name]) for s in _DFME.official}
DFME_AUS = (4, "4+23", "L12", "R4+AD38", 12, "1+2")  # some AU cells are numbers, the rest text

CASME3_EMOTIONS = dict(_CASME3.official_split("all").labels)
_CASME3_ALL = _CASME3.official_split("all")
CASME3_SUBJECTS, CASME3_CLIPS, CASME3_MAX_PER_CLIP = _CASME3_ALL.subjects, _CASME3_ALL.clips, 17
CASME3_3CLASS = {"samples": 699, "subjects": 88, "classes": {"negative": 457, "positive": 55, "surprise": 187}}


@dataclass(frozen=True)
class Defect:
    """A row of the official file whose key frames contradict each other, as the reference records it."""

    row: int
    subject: str
    clip: str
    released: tuple[int, int | None, int]   # onset, apex, offset as released
    corrected: tuple[int, int | None, int]  # after the built-in erratum
    emotion: str


# CAS(ME)^3 v2: sheet rows, identities and values from the reference (MEB's corrections); where the reference does
# not give a value (the apex of row 751, the onsets of rows 798 and 800, ...) the fixture makes one up.
CASME3_DEFECTS = (
    Defect(130, "spNO.149", "d", (112, 83, 358), (112, 123, 358), "fear"),
    Defect(710, "spNO.214", "c", (5, 5, 3460), (5, 5, 34), "disgust"),
    Defect(751, "spNO.216", "d", (3647, 2655, 2694), (2647, 2655, 2694), "disgust"),
    Defect(752, "spNO.216", "e", (0, 0, 40), (1, 1, 40), "surprise"),
    Defect(798, "spNO.40", "e", (1800, 1810, 0), (1800, 1810, 1845), "disgust"),
    Defect(800, "spNO.40", "e", (2350, 2360, 0), (2350, 2360, 2403), "surprise"),
)
CASME3_UPPER_J = "spNO.1"   # the subject whose clip is written `J` (folder `j`)

CASME2_EMOTIONS = dict(_CASME2.official_split("all").labels)
CASME2_SUBJECTS, CASME2_SLASH_APEXES = _CASME2.official_split("all").subjects, 21
MEGC_CASME2_EXCLUDED = ("sub04/EP12_01f", "sub05/EP09_05f")   # the two mapped rows the official list leaves out
CASME2_REISSUE_SURPRISE = ("sub24/EP01_24", "sub24/EP03_24", "sub24/EP05_24")  # sadness in 2014, surprise in 2019

SAMM_EMOTIONS = dict(_SAMM.official_split("all").labels)
SAMM_SUBJECTS = tuple(n for n in range(6, 38) if n not in (27, 29, 36))  # 29 subjects
SAMM_HEADER_ROW = 14
SAMM_DEFECTS = (
    Defect(140, "028", "028_4_1", (1071, 1143, 1134), (1071, 1105, 1134), "Anger"),
    Defect(147, "032", "032_3_1", (4896, 1930, 4970), (4896, 4945, 4970), "Happiness"),
)

SMIC_CLASSES = dict(_SMIC.official_split("all").labels)
SMIC_SUBJECTS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12, 13, 14, 15, 18, 19, 20)
SMIC_SHORT = {"negative": "ne", "positive": "po", "surprise": "sur"}

MEGC_CLASSES = ("negative", "positive", "surprise")
MEGC_LABEL = {  # the guideline's mappings (label as released, normalised -> class)
    "casme2": {"disgust": "negative", "repression": "negative", "happiness": "positive", "surprise": "surprise"},
    "samm": {"anger": "negative", "contempt": "negative", "disgust": "negative", "fear": "negative",
             "sadness": "negative", "happiness": "positive", "surprise": "surprise"},
    "smic": {"negative": "negative", "positive": "positive", "surprise": "surprise"},
}
MEGC_COUNTS = {"casme2": (145, 24, {"negative": 88, "positive": 32, "surprise": 25}),
               "samm": (133, 28, {"negative": 92, "positive": 26, "surprise": 15}),
               "smic": (164, 16, {"negative": 70, "positive": 51, "surprise": 43})}


# ----- helpers -----------------------------------------------------------------------------------------------------
def spread(total: int, parts: int) -> list[int]:
    """`total` split into `parts` near-equal positive integers (larger ones first)."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def interleave(counts: dict[str, int] | Iterable[tuple[str, int]]) -> list[str]:
    """Labels repeated by their counts, each spread evenly over the sequence (the i-th of n at (i + 1/2) / n), so
    that every stretch of rows, hence every subject, sees several classes."""
    items = list(counts.items() if isinstance(counts, dict) else counts)
    keyed = [((i + 0.5) / n, k, name) for k, (name, n) in enumerate(items) for i in range(n)]
    return [name for _, _, name in sorted(keyed)]


def blocks(n_rows: int, subjects: Sequence[str], pins: dict[str, tuple[int, int]]) -> dict[str, range]:
    """Contiguous row blocks (0-based data rows), one per subject in order, such that the block of each pinned
    subject starts at pins[s][0] and ends at pins[s][1]; the other subjects share the rest evenly."""
    fixed = {0: 0, len(subjects): n_rows}
    for s, (first, last) in pins.items():
        k = subjects.index(s)
        fixed[k], fixed[k + 1] = first, last + 1
    bounds = sorted(fixed.items())
    start = {len(subjects): n_rows}
    for (k1, v1), (k2, v2) in zip(bounds, bounds[1:]):
        sizes = spread(v2 - v1, k2 - k1)
        assert min(sizes) >= 1, f"no room for subjects {subjects[k1:k2]}"
        for j, _ in enumerate(sizes):
            start[k1 + j] = v1 + sum(sizes[:j])
    return {s: range(start[k], start[k + 1]) for k, s in enumerate(subjects)}


def write_release_fixture(data_root: Path, key: str, records: Sequence[AnnotationRecord],
                          corrected: Sequence[AnnotationRecord] | None = None, frames: bool = False) -> Path:
    """Write `records` (as released) in `key`'s layout; frames, if asked, for the corrected spans."""
    from harness.datasets import get_adapter

    if frames:
        write_dataset(data_root, key, corrected or records)
    get_adapter(key).write_annotations(Path(data_root) / key, records)
    return Path(data_root) / key


# ----- DFME --------------------------------------------------------------------------------------------------------
def dfme_records() -> list[AnnotationRecord]:
    """1856 / 474 / 299 rows from 176 / 42 / 41 subjects, the reference's class and fps counts per split, OnsetFrame
    0 in 883 / 240 / 117 rows, subjects disjoint and each at one frame rate, some AU cells numbers."""
    out: list[AnnotationRecord] = []
    n_subject = 1
    for split, (samples, subjects, per_class, per_fps, onset_zero) in DFME.items():
        labels = interleave(zip(DFME_CLASSES, per_class))
        zero = set(range(0, 2 * onset_zero, 2)) if 2 * onset_zero <= samples else set(range(onset_zero))
        pos = 0
        for fps, rows, n_subj in zip(DFME_FPS, per_fps, spread(subjects, len(DFME_FPS))):
            for per_subject in spread(rows, n_subj):
                sub = f"sub{n_subject:04d}"
                for j in range(per_subject):
                    onset = 0 if pos in zero else 30 + j
                    aus = DFME_AUS[pos % len(DFME_AUS)]
                    out.append(AnnotationRecord(sub, f"{sub}_{j + 1:02d}", onset, onset + 5, onset + 12,
                                                labels[pos], str(aus), fps, split))
                    pos += 1
                n_subject += 1
    return out


# ----- CAS(ME)^3 ---------------------------------------------------------------------------------------------------
def _casme3_subjects() -> list[str]:
    """94 subjects sorted as the sheet sorts them (as text: spNO.1, spNO.10, ..., spNO.149, spNO.15, ...)."""
    numbers = [1, 10, 11, 12, 13, 138, 139, 14, 142, 144, 145, 146, 147, 148, 149,
               15, *[n for n in range(150, 200) if n not in (151, 156, 158)], 2, 20, *range(200, 210), 21,
               *range(210, 218), 3, 39, 4, 40, 41, 42, 5, 6, 7, 8]
    subjects = sorted(f"spNO.{n}" for n in set(numbers))
    assert len(subjects) == CASME3_SUBJECTS, len(subjects)
    return subjects


# per anchored subject: the block (first, last data row) and the clip of each row; the defect rows sit at their
# sheet rows (data row = sheet row - 2)
_CASME3_ANCHORS = {
    "spNO.149": (125, "abcdiik"),
    "spNO.214": (705, "abbcjkk"),
    "spNO.215": (712, "a" * 4 + "c" * CASME3_MAX_PER_CLIP + "dd" + "fff" + "hhhh" + "llll"),  # 17 MEs in clip c
    "spNO.216": (746, "aabdeejm"),
    "spNO.40": (793, "bcdeeegjk"),
}
_OTHERS_ONLY = ("spNO.153", "spNO.166", "spNO.177", "spNO.188", "spNO.199", "spNO.202")  # 94 - 88 subjects


def casme3_records() -> tuple[list[AnnotationRecord], list[AnnotationRecord]]:
    """CAS(ME)^3 Part A v2 as released and as corrected: 860 rows, 94 subjects, 463 clips (one with 17 MEs), the
    reference's emotion counts (158 `others` + 3 `Others`), 6 subjects with only `others` (88 remain for 3
    classes), a clip `J`, and the six contradicting rows at sheet rows 130, 710, 751, 752, 798 and 800."""
    subjects = _casme3_subjects()
    pins = {s: (first, first + len(clips) - 1) for s, (first, clips) in _CASME3_ANCHORS.items()}
    rows_of = blocks(860, subjects, pins)
    defects = {d.row - 2: d for d in CASME3_DEFECTS}
    clips_of = {s: _CASME3_ANCHORS[s][1] if s in _CASME3_ANCHORS else None for s in subjects}
    free = [s for s in subjects if clips_of[s] is None]
    fixed_clips = sum(len(set(c)) for c in clips_of.values() if c)
    n_clips = dict(zip(free, spread(CASME3_CLIPS - fixed_clips, len(free))))
    letters = "abcdefghijklm"
    for s in free:
        k = min(n_clips[s], len(rows_of[s]), 13)
        assert k == n_clips[s], (s, k)
        picks = [letters[round(i * 12 / max(1, k - 1))] for i in range(k)] if k > 1 else ["a"]
        clips_of[s] = "".join(c * n for c, n in zip(picks, spread(len(rows_of[s]), k)))
    assert sum(len(set(c)) for c in clips_of.values()) == CASME3_CLIPS

    others_only = sum(len(rows_of[s]) for s in _OTHERS_ONLY)
    pool = dict(CASME3_EMOTIONS)
    pool["others"] -= others_only
    for d in CASME3_DEFECTS:
        pool[d.emotion] -= 1
    mixed = iter(interleave(pool))
    released, corrected = [], []
    for s in subjects:
        per_clip: dict[str, int] = {}
        for pos, clip in zip(rows_of[s], clips_of[s]):
            d = defects.get(pos)
            if d is not None:
                assert (d.subject, d.clip) == (s, clip), (pos, s, clip, d)
                emotion, rel, cor = d.emotion, d.released, d.corrected
            else:
                j = per_clip.get(clip, 0)
                per_clip[clip] = j + 1
                onset = 100 * j + 10 + (40 if (s, clip) in (("spNO.216", "e"), ("spNO.40", "e")) else 0)
                emotion = "others" if s in _OTHERS_ONLY else next(mixed)
                rel = cor = (onset, onset + 2, onset + 4)
            written = "J" if (s, clip) == (CASME3_UPPER_J, "j") else clip
            extra = {"Objective class": "VII", "folder": clip}
            released.append(AnnotationRecord(s, written, *rel, emotion, "4+10", 30, extra=extra))
            corrected.append(AnnotationRecord(s, written, *cor, emotion, "4+10", 30, extra=extra))
    assert next(mixed, None) is None
    return released, corrected


def casme3_small_defects() -> tuple[list[AnnotationRecord], list[AnnotationRecord]]:
    """A CAS(ME)^3 fixture small enough to submit a bundle on (with frames): four subjects holding the four
    contradicting rows that their identity names alone (their sheet rows are not the release's: the errata apply
    by identity and say the rows moved), a few clean rows per subject in every 3-class class, and one offset 0 that
    no erratum lists."""
    unique = [d for d in CASME3_DEFECTS if d.row in (130, 710, 751, 752)]
    released, corrected = [], []
    for s in sorted({d.subject for d in unique} | {"spNO.3"}):
        mine = [d for d in unique if d.subject == s]
        for j, emotion in enumerate(("disgust", "happy", "surprise", "sad")):
            on = 500 + 20 * j
            rec = AnnotationRecord(s, "k", on, on + 2, on + 5, emotion, "4", 30, extra={"folder": "k"})
            released.append(rec)
            corrected.append(rec)
        for d in mine:
            released.append(AnnotationRecord(s, d.clip, *d.released, d.emotion, "4", 30, extra={"folder": d.clip}))
            corrected.append(AnnotationRecord(s, d.clip, *d.corrected, d.emotion, "4", 30, extra={"folder": d.clip}))
    # and a defect no erratum lists: an offset 0 (the policy excludes the sample and counts it)
    released.append(AnnotationRecord("spNO.3", "m", 700, 702, 0, "happy", "12", 30, extra={"folder": "m"}))
    return released, corrected


# ----- CASME II ----------------------------------------------------------------------------------------------------
def casme2_records(reissue: bool = False) -> list[AnnotationRecord]:
    """CASME II coding sheet (2014-05-08): 255 rows from 26 subjects with the reference's emotion counts, 21 `/`
    apexes, sub04/EP12_01f and sub05/EP09_05f as negative rows (the two the MEGC2019 list leaves out),
    sub05/EP12_03f as surprise, sub05/EP02_07 but no sub24/EP02_07; subjects 25 and 26 hold no mapped emotion,
    so 24 subjects are in the composite. `reissue`: the 2019-07-01 re-issue, with its `Objective Classes` column
    and three sub24 clips `surprise` instead of `sadness` (148 composite samples)."""
    fixed = [(4, "EP12_01f", "disgust"), (5, "EP09_05f", "repression"), (5, "EP12_03f", "surprise"),
             (5, "EP02_07", "others"), *[(24, c.split("/")[1], "sadness") for c in CASME2_REISSUE_SURPRISE]]
    pool = dict(CASME2_EMOTIONS)
    for _, _, e in fixed:
        pool[e] -= 1
    pool["others"] -= 10  # subjects 25 and 26: five `others` each
    mixed = iter(interleave(pool))
    rows: list[tuple[int, str, str]] = list(fixed)
    used = {(s, c) for s, c, _ in fixed}
    counts = dict(zip(range(1, 25), spread(255 - 10 - len(fixed), 24)))
    for subj in range(1, 25):
        j = 0
        while counts[subj]:
            j += 1
            clip = f"EP{j:02d}_{subj:02d}{'f' if j % 3 == 0 else ''}"
            if (subj, clip) in used:
                continue
            rows.append((subj, clip, next(mixed)))
            counts[subj] -= 1
    rows += [(subj, f"EP{j + 1:02d}_{subj:02d}f", "others") for subj in (25, 26) for j in range(5)]
    assert next(mixed, None) is None and len(rows) == 255
    rows.sort(key=lambda r: (r[0], r[1]))
    out = []
    for i, (subj, clip, emo) in enumerate(rows):
        sample = f"sub{subj:02d}/{clip}"
        if reissue and sample in CASME2_REISSUE_SURPRISE:
            emo = "surprise"
        apex = None if i % 12 == 5 and i < 12 * CASME2_SLASH_APEXES else 42
        extra = {"Objective Classes": "VII"} if reissue else {}
        out.append(AnnotationRecord(f"sub{subj:02d}", clip, 40, apex, 44, emo, "4+9", 200, extra=extra))
    assert sum(r.apex is None for r in out) == CASME2_SLASH_APEXES
    return out


def write_casme2(data_root: Path, records: Sequence[AnnotationRecord], layout: str = "original",
                 subject_as: str = "number", name: str = "CASME2-coding-20140508.xlsx") -> Path:
    from harness.datasets.adapters.casme2 import write_coding_sheet

    path = Path(data_root) / "casme2" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_coding_sheet(path, records, layout, subject_as)
    return path


# ----- SAMM --------------------------------------------------------------------------------------------------------
def samm_records() -> list[AnnotationRecord]:
    """SAMM micro sheet: 159 rows from 29 subjects with the reference's emotion counts (header in row 14, so data
    rows 15..173), rows 140 (028_4_1) and 147 (032_3_1) with their apexes outside onset..offset, and one subject
    (037) with only `Other`, so 133 samples from 28 subjects are in the composite."""
    subjects = [f"{n:03d}" for n in SAMM_SUBJECTS]
    first = SAMM_HEADER_ROW + 1
    pins = {"028": (140 - first - 4, 140 - first), "032": (147 - first - 2, 147 - first + 3), "037": (154, 158)}
    rows_of = blocks(159, subjects, pins)
    defects = {d.row - first: d for d in SAMM_DEFECTS}
    pool = dict(SAMM_EMOTIONS)
    pool["Other"] -= len(rows_of["037"])
    for d in SAMM_DEFECTS:
        pool[d.emotion] -= 1
    mixed = iter(interleave(pool))
    out = []
    for s in subjects:
        k = 0
        for pos in rows_of[s]:
            d = defects.get(pos)
            if d is not None:
                out.append(AnnotationRecord(s, d.clip, *d.released, d.emotion, "R14", 200,
                                            extra={"Inducement Code": int(d.clip.split("_")[1])}))
                continue
            k += 1
            emotion = "Other" if s == "037" else next(mixed)
            onset = 1000 + 200 * k
            out.append(AnnotationRecord(s, f"{s}_{min(k, 3)}_{k}", onset, onset + 3, onset + 6, emotion,
                                        "R14" if k % 4 else "AU4 or AU7", 200, extra={"Inducement Code": min(k, 3)}))
    assert next(mixed, None) is None and len(out) == 159
    return out


def samm_corrected(records: Sequence[AnnotationRecord]) -> list[AnnotationRecord]:
    fixes = {d.clip: d.corrected for d in SAMM_DEFECTS}
    return [replace(r, onset=fixes[r.clip][0], apex=fixes[r.clip][1], offset=fixes[r.clip][2])
            if r.clip in fixes else r for r in records]


# ----- SMIC-HS -----------------------------------------------------------------------------------------------------
def smic_records() -> list[AnnotationRecord]:
    """164 micro clips (70 / 51 / 43) from 16 subjects; one frame per clip (the tree is the annotation)."""
    labels = interleave(SMIC_CLASSES)
    out, pos = [], 0
    for s, count in zip(SMIC_SUBJECTS, spread(len(labels), len(SMIC_SUBJECTS))):
        per: dict[str, int] = {}
        for _ in range(count):
            emo = labels[pos]
            pos += 1
            per[emo] = per.get(emo, 0) + 1
            frame = 100000 + 37 * pos
            out.append(AnnotationRecord(f"s{s}", f"s{s}_{SMIC_SHORT[emo]}_{per[emo]:02d}", frame, None, frame, emo,
                                        "", 100))
    return out


# ----- the MEGC2019 ground-truth list ------------------------------------------------------------------------------
def megc2019_list(casme2: Sequence[AnnotationRecord], samm: Sequence[AnnotationRecord],
                  smic: Sequence[AnnotationRecord]) -> list[tuple[str, str, str, int]]:
    """`combined_3class_gt.csv` as the challenge writes it (dataset, subject, clip, label 0/1/2; SAMM subjects as
    integers, SMIC zero-padded), by the guideline's rule and the reference: every mapped row but the two CASME II
    rows it leaves out. Computed from the records, independently of the harness."""
    out = []
    for r in casme2:
        cls = MEGC_LABEL["casme2"].get(normalise_label(r.emotion))
        if cls and f"{r.subject}/{r.clip}" not in MEGC_CASME2_EXCLUDED:
            out.append(("casme2", r.subject, r.clip, MEGC_CLASSES.index(cls)))
    for r in samm:
        cls = MEGC_LABEL["samm"].get(normalise_label(r.emotion))
        if cls:
            out.append(("samm", str(int(r.subject)), r.clip, MEGC_CLASSES.index(cls)))
    for r in smic:
        n = int(r.subject[1:])
        clip = f"s{n:02d}_" + r.clip.split("_", 1)[1]
        out.append(("smic", f"s{n:02d}", clip, MEGC_CLASSES.index(MEGC_LABEL["smic"][r.emotion])))
    return out


def megc2019_uid(dataset: str, subject: str, clip: str) -> str:
    """The harness's sample id of a row of the official list (release names: sub01/EP02_01f, 006_1_2, s1_ne_01)."""
    if dataset == "casme2":
        return f"casme2/{subject}/{clip}"
    if dataset == "smic":
        n = int(subject[1:])
        return f"smic/s{n}_" + clip.split("_", 1)[1]
    return f"samm/{clip}"


# ----- one data root -----------------------------------------------------------------------------------------------
def write_official_root(data_root: Path, keys: Sequence[str] = ("dfme", "casme3", "casme2", "samm", "smic"),
                        frames: Sequence[str] = ()) -> Path:
    """Annotation files with the real composition for `keys` (SMIC always with one frame per clip: its tree is its
    annotation); placeholder frames for the datasets in `frames`."""
    data_root = Path(data_root)
    if "dfme" in keys:
        write_release_fixture(data_root, "dfme", dfme_records(), frames="dfme" in frames)
    if "casme3" in keys:
        released, corrected = casme3_records()
        write_release_fixture(data_root, "casme3", released, corrected, frames="casme3" in frames)
    if "casme2" in keys:
        write_release_fixture(data_root, "casme2", casme2_records(), frames="casme2" in frames)
    if "samm" in keys:
        recs = samm_records()
        write_release_fixture(data_root, "samm", recs, samm_corrected(recs), frames="samm" in frames)
    if "smic" in keys:
        write_dataset(data_root, "smic", smic_records())
    return data_root
