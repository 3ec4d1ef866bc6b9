"""What an adapter says about its release beyond reading it: the official counts, and how a synthetic copy of
it is laid out. Plain data, so that the synthetic generator and the tests ask the adapter instead of keeping
copies of these facts (`harness.synth` reads them; nothing here imports it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

Frames = tuple[int, "int | None", int]


@dataclass(frozen=True)
class OfficialSplit:
    """One split of the official annotation files: its subjects and samples, the label counts as written, the
    samples per frame rate where rates differ by subject (DFME), the clip folders where a clip holds several
    samples (CAS(ME)^3), and the subjects whose every row carries a label no protocol maps (they are why CAS(ME)^3
    3-class keeps 88 of 94 subjects and MEGC2019 24 of CASME II's 26 and 28 of SAMM's 29)."""

    name: str
    subjects: int
    samples: int
    labels: dict[str, int]
    fps: dict[int, int] = field(default_factory=dict)
    clips: int | None = None  # clip folders holding the samples; None: one clip per sample
    label_only: tuple[tuple[int, tuple[str, ...]], ...] = ()  # (n, labels): n subjects with only these labels


@dataclass(frozen=True)
class DefectKind:
    """A defect of the real files that the generator plants in a synthetic copy (see harness.synth.defects)."""

    name: str
    like: str                            # the real row it imitates
    corrupt: Callable[[Frames], Frames]  # planned (onset, apex, offset) -> as written
    listed: bool                         # corrected by the synthetic errata; else left to the defect policy
    needs_apex: bool = False
    same_clip_as: str | None = None      # plant in the clip of another kind's row when the clip allows it


@dataclass(frozen=True)
class SyntheticLayout:
    """How `harness data synth` imitates the release (sizes are the small defaults of the embedded corpus; the
    official counts give the proportions)."""

    subjects: int                   # default subjects in a synthetic corpus
    samples_per_subject: float      # default mean micro-expressions per subject
    emotion: dict[str, tuple[tuple[str, float], ...]]  # label as written -> motion prototypes with weights
    subject_pool: tuple[int, int]   # subject numbers of the real release (inclusive)
    subject_format: str             # folder/annotation name of subject n
    first_frame: tuple[int, int]    # range of a clip's first frame number
    events_per_clip: tuple[int, int] = (1, 1)
    gap_ms: tuple[float, float] = (300.0, 900.0)  # neutral gap between micro-expressions in one clip
    missing_apex: str | None = None  # "/" (CASME II) or "-1" (SAMM): how the release writes an uncoded apex
    objective_class: str | None = None  # annotation column holding the objective class (CAS(ME)^3, SAMM)
    folder_is_annotation: bool = False  # SMIC: no workbook; a clip folder spans onset..offset, no apex
    defects: tuple[DefectKind, ...] = ()   # the real file's defects, planted
    key_frame_columns: tuple[str, str, str] | None = None   # onset, apex, offset columns (for the errata)
    identity_columns: tuple[str, ...] = ("Subject", "Filename")  # what names a row in an erratum (onset: released)
    written_clip: dict[str, str] = field(default_factory=dict)   # folder -> name in the annotation (`j` -> `J`)
    max_clips_per_subject: int | None = None   # at official scale (CAS(ME)^3 Part A: 13 tasks, clips a..m)
    pinned: tuple[tuple[int, str, str], ...] = ()  # (subject number, clip, label): rows a protocol names, planted
    #                                                at official scale (the MEGC2019 list leaves two CASME II rows out)
    title: str = ""


def one(prototype: str) -> tuple[tuple[str, float], ...]:
    """A label whose motion comes from one prototype."""
    return ((prototype, 1.0),)
