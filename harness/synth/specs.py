"""What each real release looks like, as data: frame rates, class counts, subjects, naming, splits.

Class and split counts are those of the official annotation files (shared/reference/protocols-and-datasets.md);
the generator keeps their proportions at any corpus size. Default sizes are small on purpose: the default
corpus must generate in about a minute and let the whole main job run in minutes on two cores. `SCALES` names
the sizes a corpus can have: `default` (those small sizes) and `official` (every split at its release's size and
composition: subjects, samples, class counts, DFME's frame rates, CAS(ME)^3's clips; `OfficialLayout`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from harness.errors import BadInput


@dataclass(frozen=True)
class SplitSpec:
    """One release split: its share of subjects and samples, its label counts and frame-rate counts."""

    name: str
    subjects: int                   # subjects in the official split (a proportion, not a size)
    samples: int                    # samples in the official split
    labels: dict[str, int]          # label as written -> official count
    fps: dict[int, int] = field(default_factory=dict)  # frame rate -> official sample count (DFME)


@dataclass(frozen=True)
class OfficialLayout:
    """What a release holds beyond its split counts, planted only at `--scale official` (the protocols' counts
    depend on it: CAS(ME)^3 3-class keeps 88 of 94 subjects, the MEGC2019 composite 24 of CASME II's 26).

    clips: how many clip folders hold the samples (CAS(ME)^3: 463 for 860 MEs), or None for one per sample;
    label_only: (subjects, labels): that many subjects whose every row carries one of those labels;
    pinned: (subject number, clip, label): rows the protocols name (the MEGC2019 list leaves two CASME II rows out).
    """

    clips: int | None = None
    label_only: tuple[tuple[int, tuple[str, ...]], ...] = ()
    pinned: tuple[tuple[int, str, str], ...] = ()


@dataclass(frozen=True)
class DatasetSpec:
    key: str
    fps: float                      # frame rate when a split gives none
    subjects: int                   # default subjects in a synthetic corpus
    samples_per_subject: float      # default mean micro-expressions per subject
    splits: tuple[SplitSpec, ...]
    emotion: dict[str, tuple[tuple[str, float], ...]]  # written label -> motion prototypes with weights
    subject_pool: tuple[int, int]   # subject numbers of the real release (inclusive)
    subject_format: str             # folder/annotation name of subject n
    clip_style: str                 # key of the clip namer (plan.CLIP_NAMERS)
    first_frame: tuple[int, int]    # range of a clip's first frame number
    events_per_clip: tuple[int, int] = (1, 1)
    gap_ms: tuple[float, float] = (300.0, 900.0)  # neutral gap between micro-expressions in one clip
    missing_apex: str | None = None  # "/" (CASME II) or "-1" (SAMM): how the release writes an uncoded apex
    objective_class: str | None = None  # annotation column holding the objective class (CAS(ME)^3, SAMM)
    folder_is_annotation: bool = False  # SMIC: no workbook; a clip folder spans onset..offset, no apex
    title: str = ""
    official: OfficialLayout = OfficialLayout()
    max_clips_per_subject: int = 13     # CAS(ME)^3 Part A: 13 videos per subject (clip letters a..m)

    @property
    def official_subjects(self) -> int:
        return sum(s.subjects for s in self.splits)


def _one(name: str) -> tuple[tuple[str, float], ...]:
    return ((name, 1.0),)


NEGATIVE = (("anger", 0.25), ("disgust", 0.3), ("sadness", 0.2), ("fear", 0.15), ("contempt", 0.1))

SPECS: dict[str, DatasetSpec] = {
    "dfme": DatasetSpec(
        key="dfme", fps=200.0, subjects=24, samples_per_subject=6.5,
        splits=(
            SplitSpec("train", 176, 1856, {"anger": 161, "contempt": 100, "disgust": 548, "fear": 265,
                                           "happiness": 206, "sadness": 278, "surprise": 298},
                      {500: 695, 300: 605, 200: 556}),
            SplitSpec("test_A", 42, 474, {"anger": 39, "contempt": 34, "disgust": 129, "fear": 62,
                                          "happiness": 63, "sadness": 46, "surprise": 101},
                      {500: 215, 300: 143, 200: 116}),
            SplitSpec("test_B", 41, 299, {"anger": 41, "contempt": 37, "disgust": 58, "fear": 38,
                                          "happiness": 42, "sadness": 35, "surprise": 48},
                      {500: 83, 300: 57, 200: 159}),
        ),
        emotion={e: _one(e) for e in ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")},
        subject_pool=(1, 671), subject_format="sub{:04d}", clip_style="dfme", first_frame=(0, 0),
        title="DFME (CCAC 2024 training / testA / testB)"),
    "casme3": DatasetSpec(
        key="casme3", fps=30.0, subjects=11, samples_per_subject=11.0,
        splits=(SplitSpec("all", 94, 860, {"disgust": 250, "surprise": 187, "others": 158, "Others": 3,
                                            "fear": 86, "anger": 64, "sad": 57, "happy": 55}),),
        emotion={"disgust": _one("disgust"), "surprise": _one("surprise"), "others": _one("others"),
                 "Others": _one("others"), "fear": _one("fear"), "anger": _one("anger"), "sad": _one("sadness"),
                 "happy": _one("happiness")},
        subject_pool=(1, 217), subject_format="spNO.{}", clip_style="casme3", first_frame=(60, 3000),
        events_per_clip=(1, 4), gap_ms=(300.0, 1000.0), objective_class="Objective class",
        title="CAS(ME)^3 Part A (v2 annotation)",
        official=OfficialLayout(clips=463, label_only=((6, ("others", "Others")),))),
    "casme2": DatasetSpec(
        key="casme2", fps=200.0, subjects=5, samples_per_subject=9.0,
        splits=(SplitSpec("all", 26, 255, {"others": 99, "disgust": 63, "happiness": 32, "repression": 27,
                                            "surprise": 25, "sadness": 7, "fear": 2}),),
        emotion={"others": _one("others"), "disgust": _one("disgust"), "happiness": _one("happiness"),
                 "repression": _one("repression"), "surprise": _one("surprise"), "sadness": _one("sadness"),
                 "fear": _one("fear")},
        subject_pool=(1, 26), subject_format="sub{:02d}", clip_style="casme2", first_frame=(1, 400),
        missing_apex="/", title="CASME II",
        official=OfficialLayout(label_only=((2, ("others", "sadness", "fear")),),
                                # both negative in the release (disgust or repression: our notes do not say which)
                                pinned=((4, "EP12_01f", "disgust"), (5, "EP09_05f", "disgust")))),
    "samm": DatasetSpec(
        key="samm", fps=200.0, subjects=5, samples_per_subject=9.0,
        splits=(SplitSpec("all", 29, 159, {"Anger": 57, "Other": 26, "Happiness": 26, "Surprise": 15,
                                            "Contempt": 12, "Disgust": 9, "Fear": 8, "Sadness": 6}),),
        emotion={"Anger": _one("anger"), "Other": _one("others"), "Happiness": _one("happiness"),
                 "Surprise": _one("surprise"), "Contempt": _one("contempt"), "Disgust": _one("disgust"),
                 "Fear": _one("fear"), "Sadness": _one("sadness")},
        subject_pool=(6, 37), subject_format="{:03d}", clip_style="samm", first_frame=(1000, 9000),
        missing_apex="-1", objective_class="Objective Classes", title="SAMM",
        official=OfficialLayout(label_only=((1, ("Other",)),))),
    "smic": DatasetSpec(
        key="smic", fps=100.0, subjects=5, samples_per_subject=9.0,
        splits=(SplitSpec("all", 16, 164, {"negative": 70, "positive": 51, "surprise": 43}),),
        emotion={"negative": NEGATIVE, "positive": _one("happiness"), "surprise": _one("surprise")},
        subject_pool=(1, 20), subject_format="s{}", clip_style="smic", first_frame=(1000, 200000),
        folder_is_annotation=True,
        title="SMIC-HS"),
}

ORDER = ("dfme", "casme3", "casme2", "samm", "smic")


@dataclass(frozen=True)
class Scale:
    """How big a corpus is: `exact` plans every split at its release's size and composition (subjects, samples,
    label and frame-rate counts, `OfficialLayout`); otherwise the small defaults of each DatasetSpec, which
    `--subjects` and `samples_per_subject` change."""

    name: str
    exact: bool
    doc: str


SCALES: dict[str, Scale] = {
    "default": Scale("default", False, "small corpus for CI and the main job (sizes in specs.py)"),
    "official": Scale("official", True, "every dataset at its release's size and composition"),
}


def get_scale(name: str) -> Scale:
    if name not in SCALES:
        from harness.registry import suggest

        raise BadInput(suggest(name, list(SCALES), "corpus scale for --scale"))
    return SCALES[name]


def get_spec(key: str) -> DatasetSpec:
    if key not in SPECS:
        from harness.registry import suggest

        raise BadInput(suggest(key, list(SPECS), "dataset for --like") + " (or 'all')")
    return SPECS[key]


def resolve_like(like: str) -> list[str]:
    """`--like` value -> dataset keys: one key, a comma list, or `all`."""
    keys = list(ORDER) if like.strip().lower() == "all" else [k.strip().lower() for k in like.split(",") if k.strip()]
    for k in keys:
        get_spec(k)
    if not keys:
        raise BadInput("--like needs a dataset key (dfme, casme3, casme2, samm, smic) or 'all'")
    return keys
