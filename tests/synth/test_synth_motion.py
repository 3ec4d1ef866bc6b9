"""Action-unit fields, micro-expression dynamics and label noise, checked on the generator's own objects (no
frames are rendered here, so these run in well under a second each)."""
from __future__ import annotations

import numpy as np
import pytest

from harness.synth.aus import AU_TABLE, all_names, can_be_unilateral, evaluate, unit_components
from harness.synth.config import SynthConfig
from harness.synth.face import face_unit, landmarks, sample_face
from harness.synth.plan import plan_dataset
from harness.synth.seeds import rng
from harness.synth.specs import get_spec, synthetic_keys

SPECS = {k: get_spec(k) for k in synthetic_keys()}

SIZE = 128
REQUIRED = ("1", "2", "4", "5", "6", "7", "9", "10", "12", "14", "15", "17", "20", "23", "24", "25", "26", "45")
# a region far from where each group of AUs acts: brow/eye AUs must not move the mouth and vice versa
UPPER = {"1", "2", "4", "5", "6", "7", "45"}
LOWER = {"10", "12", "14", "15", "17", "20", "23", "24", "25", "26"}


@pytest.fixture(scope="module")
def face():
    p = sample_face(rng(0, "test-face"))
    return p, landmarks(p, SIZE), face_unit(p, SIZE)


def _mag(field):
    return np.hypot(field[..., 0], field[..., 1])


def _disc(lm_point, radius, shape=(SIZE, SIZE)):
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    return np.hypot(xs - lm_point[0], ys - lm_point[1]) <= radius


def test_every_required_au_exists_with_sided_variants():
    names = set(all_names())
    assert set(REQUIRED) <= set(AU_TABLE)
    for au in REQUIRED:
        if can_be_unilateral(au):
            assert {f"L{au}", f"R{au}"} <= names
    assert sum(can_be_unilateral(a) for a in REQUIRED) >= 14


@pytest.mark.parametrize("au", sorted(AU_TABLE, key=int))
def test_au_moves_its_own_region_and_not_a_far_one(face, au):
    p, lm, unit = face
    field = evaluate(unit_components(au, lm, unit, SIZE), SIZE, SIZE)
    mag = _mag(field)
    assert mag.max() == pytest.approx(1.0, abs=1e-3)  # normalised: one pixel at intensity 1
    peak = np.unravel_index(np.argmax(mag), mag.shape)[::-1]
    anchors = [lm[k] for k in lm if any(k.startswith(push.anchor) for push in AU_TABLE[au])]
    assert min(np.hypot(*(np.array(peak) - a)) for a in anchors) < 0.15 * unit
    far = _disc(lm["mouth"], 0.12 * unit) if au in UPPER else _disc((lm["brow_mid_L"] + lm["brow_mid_R"]) / 2,
                                                                     0.12 * unit) | _disc(lm["brow_mid_L"], 0.08 * unit)
    if au in UPPER | LOWER:
        assert mag[far].max() < 0.02, f"AU{au} moves a far region by {mag[far].max():.3f} of its peak"


@pytest.mark.parametrize("au", [a for a in sorted(AU_TABLE, key=int) if can_be_unilateral(a)])
def test_unilateral_variants_are_one_sided(face, au):
    p, lm, unit = face
    mid = lm["nose_tip"][0]
    xs = np.arange(SIZE)
    left_half = xs > mid + 0.1 * unit    # subject's left = image right; skin just past the midline may follow
    right_half = xs < mid - 0.1 * unit
    for side, own, other in (("L", left_half, right_half), ("R", right_half, left_half)):
        mag = _mag(evaluate(unit_components(f"{side}{au}", lm, unit, SIZE), SIZE, SIZE))
        peak_x = np.unravel_index(np.argmax(mag), mag.shape)[1]
        assert (peak_x > mid) == (side == "L")
        assert mag[:, own].max() > 0.5
        assert mag[:, other].max() < 0.05, f"{side}{au} moves the other side by {mag[:, other].max():.3f}"
    both = _mag(evaluate(unit_components(au, lm, unit, SIZE), SIZE, SIZE))
    assert both[:, left_half].max() > 0.5 and both[:, right_half].max() > 0.5


def test_midline_aus_have_no_one_sided_variant():
    from harness.synth.aus import split_name

    for au in ("17", "26"):
        with pytest.raises(ValueError):
            split_name(f"L{au}")


@pytest.fixture(scope="module")
def plans():
    return {k: plan_dataset(spec, SynthConfig(), seed=11, subjects=8) for k, spec in SPECS.items()}


def _events(plan):
    return [(c, e) for s in plan.subjects for c in s.clips for e in c.events]


def test_durations_lie_within_40_to_500_ms_at_each_frame_rate(plans):
    seen_fps = set()
    for plan in plans.values():
        for c, e in _events(plan):
            ms = (e.event.offset - e.event.onset) / c.fps * 1000
            assert 40 <= ms <= 500, f"{e.sample_id}: {ms:.0f} ms at {c.fps} fps"
            assert e.event.onset < e.event.apex < e.event.offset
            seen_fps.add(c.fps)
    assert seen_fps == {30.0, 100.0, 200.0, 300.0, 500.0}


def test_annotation_follows_the_true_timing_within_jitter(plans):
    cfg = SynthConfig()
    onset_err, apex_err = [], []
    for key, plan in plans.items():
        for c, e in _events(plan):
            on, ap, off = e.annotated
            assert c.first <= on <= off <= c.last
            if SPECS[key].folder_is_annotation:  # SMIC: the folder (first..last frame) is the annotation
                assert (on, ap, off) == (c.first, None, c.last)
                continue
            assert e.event.onset - c.first >= 2 and c.last - e.event.offset >= 2  # neutral lead-in and lead-out
            if ap is not None:
                assert on <= ap <= off
                apex_err.append(abs(ap - e.event.apex) / c.fps * 1000)
            onset_err.append(abs(on - e.event.onset) / c.fps * 1000)
    # half-normal: mean |error| = sigma * sqrt(2/pi); clamping and rounding only shrink it
    assert 0.3 * cfg.jitter_ms < np.mean(onset_err) < 1.2 * cfg.jitter_ms
    assert np.mean(apex_err) < 1.3 * cfg.apex_jitter_ms + 3  # ms; 30 fps rounds to 33 ms steps
    assert max(apex_err) < 6 * cfg.apex_jitter_ms + 40


def test_aus_of_one_expression_peak_at_different_times(plans):
    multi = [e for plan in plans.values() for _, e in _events(plan) if len(e.event.aus) > 1]
    assert len(multi) > 50
    spread = [max(t.apex for t in e.event.aus) - min(t.apex for t in e.event.aus) for e in multi]
    share = np.mean([s >= 2 for s in spread])
    print(f"\nexpressions with several AUs: {len(multi)}; share whose AU apexes differ by >= 2 frames: {share:.2f}")
    assert share > 0.5


def test_blinks_occur_in_every_class(plans):
    from harness.synth.aus import BLINK

    with_blink = {e.emotion for plan in plans.values() for c, e in _events(plan) if BLINK in c.au_names}
    assert {"anger", "disgust", "happiness", "surprise", "others"} <= with_blink


def test_class_proportions_follow_the_release(plans):
    from harness.synth.plan import allocate

    for key, plan in plans.items():
        for split in SPECS[key].splits:
            got: dict[str, int] = {}
            for c, e in _events(plan):
                if c.split == split.name:
                    got[e.label] = got.get(e.label, 0) + 1
            want = allocate(sum(got.values()), split.labels, minimum=1)
            assert got == {k: v for k, v in want.items() if v}


@pytest.mark.parametrize("rate", [0.0, 0.3])
def test_label_noise_changes_the_motion_at_the_requested_rate(rate):
    plan = plan_dataset(SPECS["casme3"], SynthConfig(label_noise=rate), seed=5, subjects=40)
    events = [e for _, e in _events(plan)]
    flipped = np.mean([e.label_noise for e in events])
    differs = np.mean([{"happy": "happiness", "sad": "sadness", "Others": "others"}.get(e.label, e.label) != e.emotion
                       for e in events])
    print(f"\nlabel noise {rate}: {flipped:.3f} of {len(events)} samples flipped")
    assert flipped == pytest.approx(rate, abs=0.06)
    assert differs == flipped


def test_plans_do_not_depend_on_later_subjects():
    small = plan_dataset(SPECS["casme2"], SynthConfig(), seed=2, subjects=4)
    big = plan_dataset(SPECS["casme2"], SynthConfig(), seed=2, subjects=4)
    assert [s.face for s in small.subjects] == [s.face for s in big.subjects]
    assert [c.clip for s in small.subjects for c in s.clips] == [c.clip for s in big.subjects for c in s.clips]
