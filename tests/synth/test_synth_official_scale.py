"""`harness data synth --scale official`: every dataset at its release's size and composition.

The plan is checked against the release's counts (shared/reference/real-annotation-files.md, held by each
adapter's official splits) split by split and class by class; two small datasets are rendered (at 48 px) and read back through the real
adapters and protocols, whose `official_counts` (the protocol files' own record of the official files) must
then hold, up to the one sample the corpus's unlisted defect removes on purpose.
"""
from __future__ import annotations

from collections import Counter

import pytest

from harness.errors import BadInput
from harness.synth.config import SynthConfig
from harness.synth.plan import plan_dataset
from harness.synth.specs import get_spec, synthetic_keys

SPECS = {k: get_spec(k) for k in synthetic_keys()}


@pytest.fixture(scope="module")
def plans():
    return {k: plan_dataset(spec, SynthConfig(), seed=0, scale="official") for k, spec in SPECS.items()}


def _events(plan):
    return [(s, c, e) for s in plan.subjects for c in s.clips for e in c.events]


@pytest.mark.parametrize("key", sorted(SPECS))
def test_every_split_has_the_release_subjects_samples_and_class_counts(plans, key):
    plan = plans[key]
    for split in SPECS[key].splits:
        mine = [(s, c, e) for s, c, e in _events(plan) if c.split == split.name]
        assert len({s.subject for s, _, _ in mine}) == split.subjects
        assert len(mine) == split.samples
        assert Counter(e.label for _, _, e in mine) == Counter(split.labels)
        if split.fps:
            assert Counter(int(c.fps) for _, c, _ in mine) == Counter(split.fps)


def test_dfme_subjects_keep_one_frame_rate_and_the_splits_are_subject_disjoint(plans):
    plan = plans["dfme"]
    for s in plan.subjects:
        assert len({c.fps for c in s.clips}) == 1 and len({c.split for c in s.clips}) == 1


def test_micro_expressions_last_40_to_500_ms_at_every_frame_rate(plans):
    for key, plan in plans.items():
        for _, c, e in _events(plan):
            ms = (e.event.offset - e.event.onset) * 1000.0 / c.fps
            assert 40 - 1000 / c.fps <= ms <= 500, (key, c.clip, ms)
    lengths = [e.event.offset - e.event.onset for _, c, e in _events(plans["dfme"]) if c.fps == 500]
    assert 20 <= min(lengths) and max(lengths) <= 250


def _official_subjects(protocol: str, part: str) -> int:
    from harness.protocols import get_protocol

    return get_protocol(protocol).official_counts[part]["subjects"]


def test_casme3_has_the_release_clips_and_the_subjects_with_only_others(plans):
    plan = plans["casme3"]
    assert sum(len(s.clips) for s in plan.subjects) == SPECS["casme3"].splits[0].clips == 463
    assert all(len(s.clips) <= 13 and all(c.clip in "abcdefghijklm" for c in s.clips) for s in plan.subjects)
    only_others = [s for s in plan.subjects if {e.label for c in s.clips for e in c.events} <= {"others", "Others"}]
    # so the 3-class protocol keeps 88 of the 94 subjects, as on the release
    assert len(plan.subjects) - len(only_others) == _official_subjects("casme3-3class", "all")


def test_megc2019_composition_subjects_and_the_two_rows_the_official_list_leaves_out(plans):
    casme2 = plans["casme2"]
    rows = {(c.subject, c.clip): e.label for _, c, e in _events(casme2)}
    assert rows[("sub04", "EP12_01f")] in ("disgust", "repression")
    assert rows[("sub05", "EP09_05f")] in ("disgust", "repression")
    mapped = {"disgust", "repression", "happiness", "surprise"}
    assert len({s for (s, _), lab in rows.items() if lab in mapped}) == _official_subjects("megc2019-composite",
                                                                                          "casme2")
    samm = plans["samm"]
    assert len({s.subject for s in samm.subjects if any(e.label != "Other" for c in s.clips for e in c.events)}) \
        == _official_subjects("megc2019-composite", "samm")


def test_every_planted_defect_kind_is_there_at_official_scale(plans):
    assert any(spec.defects for spec in SPECS.values())
    for key, spec in SPECS.items():
        planted = {e.defect for _, _, e in _events(plans[key]) if e.defect}
        assert planted == {k.name for k in spec.defects}


def test_official_scale_refuses_sizes_of_its_own(tmp_path):
    from harness.synth.writer import generate

    with pytest.raises(BadInput, match="--scale official"):
        generate(tmp_path, "smic", subjects=3, scale="official", progress=False)
    with pytest.raises(BadInput, match="--scale official"):
        generate(tmp_path, "smic", config=SynthConfig(samples_per_subject=2), scale="official", progress=False)
    with pytest.raises(BadInput, match="did you mean"):
        generate(tmp_path, "smic", scale="oficial", progress=False)


@pytest.mark.slow
def test_official_corpus_meets_the_protocols_official_counts(tmp_path):
    """Written and read back through the adapters and protocols: SMIC rendered (its folders are its annotation,
    at 48 px), the others as annotation files only (their frames are not what the counts are about)."""
    import json

    from harness.protocols import get_protocol
    from harness.protocols.task import build_task
    from harness.synth.writer import generate

    generate(tmp_path, "smic", seed=0, config=SynthConfig(size=48), scale="official", progress=False)
    generate(tmp_path, "casme3,casme2,samm", seed=0, scale="official", progress=False, frames=False)
    assert json.loads((tmp_path / "_truth" / "corpus.json").read_text())["scale"] == "official"
    composite = build_task(get_protocol("megc2019-composite"), tmp_path, check_frames=False)
    assert composite.official_count_mismatches() == []
    assert composite.unmatched_exclusions == []
    for name, official, subjects in (("casme3-7class", 860, 94), ("casme3-3class", 699, 88)):
        task = build_task(get_protocol(name), tmp_path, check_frames=False)
        # the corpus's unlisted defect (an offset of 0 no erratum covers) excludes one sample, on purpose
        assert len(task.table) == official - 1
        assert [r for r in task.excluded["reason"] if "offset is 0" in r] == ["casme3: key frames contradict "
                                                                              "(offset is 0)"]
        assert task.split_summary()["all"]["subjects"] == subjects
