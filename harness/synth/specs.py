"""What each release looks like to the generator, asked of its dataset adapter: the official counts (their
proportions are kept at any corpus size) and the adapter's synthetic layout (naming, frame numbers, defects).

Nothing about a release is written here: a dataset the generator can imitate is an adapter with a `synthetic`
layout (harness/datasets/adapters/). Default sizes are small on purpose: the default corpus must generate in about
a minute and let the whole main job run in minutes on two cores. `SCALES` names the sizes a corpus can have:
`default` (those small sizes) and `official` (every split at its release's size and composition, as the adapter's
official splits and synthetic layout give it: subjects, samples, class counts, DFME's frame rates, CAS(ME)^3's clips).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.datasets.synthetic import OfficialSplit, SyntheticLayout
from harness.errors import BadInput


@dataclass(frozen=True)
class DatasetSpec:
    """One release as the generator sees it: its adapter's official counts and synthetic layout."""

    adapter: Any

    @property
    def key(self) -> str:
        return self.adapter.key

    @property
    def fps(self) -> float:
        """The frame rate where the official splits give none per subject."""
        return self.adapter.default_fps

    @property
    def splits(self) -> tuple[OfficialSplit, ...]:
        return self.adapter.official

    @property
    def layout(self) -> SyntheticLayout:
        return self.adapter.synthetic

    @property
    def official_subjects(self) -> int:
        return sum(s.subjects for s in self.splits)

    def __getattr__(self, name: str) -> Any:  # subjects, emotion, subject_pool, ... of the layout
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.adapter.synthetic, name)

    def clip_names(self, r, number: int, subject: str, labels: list[str]) -> list[str]:
        return self.adapter.synthetic_clip_names(r, number, subject, labels)

    def sample_id(self, subject: str, clip: str, onset: int) -> str:
        return self.adapter.sample_id(subject, clip, onset)

    def extra(self, clip: str) -> dict:
        return self.adapter.synthetic_extra(clip)


@dataclass(frozen=True)
class Scale:
    """How big a corpus is: `exact` plans every split at its release's size and composition (the adapter's
    `OfficialSplit`s, with their clips and label-only subjects, and its layout's pinned rows); otherwise the small
    defaults of each SyntheticLayout, which `--subjects` and `samples_per_subject` change."""

    name: str
    exact: bool
    doc: str


SCALES: dict[str, Scale] = {
    "default": Scale("default", False, "small corpus for CI and the main job (sizes in each adapter's layout)"),
    "official": Scale("official", True, "every dataset at its release's size and composition"),
}


def get_scale(name: str) -> Scale:
    if name not in SCALES:
        from harness.registry import suggest

        raise BadInput(suggest(name, list(SCALES), "corpus scale for --scale"))
    return SCALES[name]


def synthetic_keys() -> list[str]:
    """Every dataset whose adapter has a synthetic layout (what `--like all` writes)."""
    from harness.datasets import ADAPTERS, get_adapter

    return [k for k in ADAPTERS.names() if get_adapter(k).synthetic is not None]


def get_spec(key: str) -> DatasetSpec:
    from harness.datasets import ADAPTERS, get_adapter

    keys = synthetic_keys()
    if key not in keys:
        from harness.registry import suggest

        why = "" if key not in ADAPTERS else f" (the {key} adapter has no synthetic layout)"
        raise BadInput(suggest(key, keys, "dataset for --like") + " (or 'all')" + why)
    return DatasetSpec(get_adapter(key))


def resolve_like(like: str) -> list[str]:
    """`--like` value -> dataset keys: one key, a comma list, or `all`."""
    keys = synthetic_keys() if like.strip().lower() == "all" else [k.strip().lower() for k in like.split(",")
                                                                   if k.strip()]
    for k in keys:
        get_spec(k)
    if not keys:
        raise BadInput(f"--like needs a dataset key ({', '.join(synthetic_keys())}) or 'all'")
    return keys
