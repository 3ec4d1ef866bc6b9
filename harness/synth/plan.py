"""Everything about a corpus except its pixels: subjects, splits, labels, clips, timings, tracks, annotations.

Planning is cheap and runs in the parent process; rendering (render.py) only draws what the plan says. Every
random choice comes from a stream named by (seed, dataset, subject, clip, purpose), so a clip's plan does not
depend on how many subjects exist after it or on the order in which clips are rendered.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
import numpy as np

from harness.datasets.base import AnnotationRecord
from harness.synth import dynamics, nuisance
from harness.synth.aus import BLINK, format_aus
from harness.synth.config import SynthConfig
from harness.synth.face import FaceParams, face_unit, sample_face
from harness.synth.prototypes import objective_class, sample_aus
from harness.synth.seeds import derive_seed, rng
from harness.datasets.synthetic import OfficialSplit as SplitSpec
from harness.synth.specs import DatasetSpec


@dataclass
class EventPlan:
    """One micro-expression: its label as written, the emotion that drove its motion, truth and annotation."""

    sample_id: str
    label: str                 # as written in the release
    emotion: str               # prototype that drove the motion (differs from the label under label noise)
    label_noise: bool
    aus: list[str]
    event: dynamics.Event      # true timing
    annotated: tuple[int, int | None, int]  # the annotation as planned (what the errata restore)
    objective: str
    defect: str | None = None  # a planted defect (synth.defects), or None
    released: tuple[int, int | None, int] | None = None  # what the written file says, when it differs

    @property
    def written(self) -> tuple[int, int | None, int]:
        return self.released or self.annotated


@dataclass
class ClipPlan:
    dataset: str
    subject: str
    clip: str
    split: str
    fps: float
    first: int
    last: int
    pose: np.ndarray           # (2, 3) head placement of this clip
    events: list[EventPlan]
    au_names: list[str]        # columns of `intensity`
    amplitude: list[float]     # px at intensity 1, per AU
    intensity: np.ndarray      # (T, n_aus)
    head: np.ndarray           # (T, 2, 3) relative to the first frame
    gain: np.ndarray           # (T,) illumination
    noise_seed: int
    extra: dict = field(default_factory=dict)
    written_clip: str | None = None  # the clip's name in the annotation when it differs from its folder (`J`)

    @property
    def n_frames(self) -> int:
        return self.last - self.first + 1

    def frame_record(self) -> AnnotationRecord:
        """A record that locates this clip's frames through the adapter's frame_path."""
        return AnnotationRecord(subject=self.subject, clip=self.clip, onset=self.first, apex=None, offset=self.last,
                                emotion=self.events[0].label, fps=self.fps, split=self.split)


@dataclass
class SubjectPlan:
    dataset: str
    subject: str
    face: FaceParams
    clips: list[ClipPlan]

    @property
    def n_frames(self) -> int:
        return sum(c.n_frames for c in self.clips)


@dataclass
class DatasetPlan:
    key: str
    seed: int
    config: SynthConfig
    subjects: list[SubjectPlan]

    def records(self) -> list[AnnotationRecord]:
        out = []
        for s in self.subjects:
            for c in s.clips:
                folder = {"folder": c.clip} if c.written_clip else {}
                for e in c.events:
                    on, ap, off = e.written
                    out.append(AnnotationRecord(subject=c.subject, clip=c.written_clip or c.clip, onset=on, apex=ap,
                                                offset=off, emotion=e.label, aus=format_aus(e.aus), fps=c.fps,
                                                split=c.split,
                                                extra={**c.extra, **_objective_column(self.key, e), **folder}))
        return out

    @property
    def n_frames(self) -> int:
        return sum(s.n_frames for s in self.subjects)


def _objective_column(key: str, e: EventPlan) -> dict:
    from harness.synth.specs import get_spec

    col = get_spec(key).objective_class
    return {col: e.objective} if col else {}


# ----- allocation helpers ----------------------------------------------------------------------------------------
def allocate(total: int, weights: dict, minimum: int = 0) -> dict:
    """Split `total` over keys in proportion to `weights` (largest remainder), then lift keys below `minimum`
    by taking from the largest ones, when the total allows it. Deterministic (ties broken by key order)."""
    keys = list(weights)
    w = np.array([float(weights[k]) for k in keys])
    share = w / w.sum() * total
    n = np.floor(share).astype(int)
    order = sorted(range(len(keys)), key=lambda i: (-(share[i] - n[i]), i))
    for i in order[: total - int(n.sum())]:
        n[i] += 1
    if total >= minimum * len(keys):
        for i in range(len(keys)):
            while n[i] < minimum:
                j = int(np.argmax(n))
                n[j] -= 1
                n[i] += 1
    return {k: int(x) for k, x in zip(keys, n)}


def subject_numbers(r: np.random.Generator, spec: DatasetSpec, n: int) -> list[int]:
    lo, hi = spec.subject_pool
    hi = max(hi, lo + n - 1)
    return sorted(int(x) for x in r.choice(np.arange(lo, hi + 1), size=n, replace=False))


# ----- planning ------------------------------------------------------------------------------------------------
def plan_dataset(spec: DatasetSpec, config: SynthConfig, seed: int, subjects: int | None = None,
                 scale: str = "default") -> DatasetPlan:
    """The whole plan of one dataset-like corpus, at a scale of `specs.SCALES`."""
    from harness.synth.specs import get_scale

    if get_scale(scale).exact:
        return _finish(spec, config, seed, _plan_official(spec, config, seed))
    n_subjects = int(subjects if subjects is not None else spec.subjects)
    if n_subjects < len(spec.splits):
        from harness.errors import BadInput

        raise BadInput(f"--subjects {n_subjects} is too few for {spec.key}: it needs at least {len(spec.splits)} "
                       f"(one per split: {', '.join(s.name for s in spec.splits)})")
    r = rng(seed, spec.key, "plan")
    numbers = subject_numbers(r, spec, n_subjects)
    order = list(r.permutation(len(numbers)))
    split_sizes = allocate(n_subjects, {s.name: s.subjects for s in spec.splits}, minimum=1)
    per_split: dict[str, list[int]] = {}
    i = 0
    for s in spec.splits:
        per_split[s.name] = sorted(numbers[j] for j in order[i:i + split_sizes[s.name]])
        i += split_sizes[s.name]
    rate_all = sum(s.samples for s in spec.splits) / sum(s.subjects for s in spec.splits)
    sps = config.samples_per_subject or spec.samples_per_subject

    subject_plans = []
    for split in spec.splits:
        subs = per_split[split.name]
        if not subs:
            continue
        n = max(len(subs), round(len(subs) * sps * (split.samples / split.subjects) / rate_all))
        labels = [lab for lab, c in allocate(n, split.labels, minimum=1).items() for _ in range(c)]
        labels = [labels[j] for j in r.permutation(len(labels))]
        weights = {k: float(r.gamma(4.0)) for k in range(len(subs))}
        counts = allocate(n, weights, minimum=1)
        fps_of = _subject_fps(r, spec, split, subs)
        pos = 0
        for k, number in enumerate(subs):
            mine = labels[pos:pos + counts[k]]
            pos += counts[k]
            subject_plans.append(_plan_subject(spec, config, seed, split, number, fps_of[number], mine))
    return _finish(spec, config, seed, subject_plans)


def _finish(spec: DatasetSpec, config: SynthConfig, seed: int, subject_plans: list[SubjectPlan]) -> DatasetPlan:
    subject_plans.sort(key=lambda p: p.subject)
    plan = DatasetPlan(spec.key, seed, config, subject_plans)
    from harness.synth.defects import plant

    plant(plan)
    return plan


def _plan_official(spec: DatasetSpec, config: SynthConfig, seed: int) -> list[SubjectPlan]:
    """Every split at its release's size: its subjects, its samples, its exact label and frame-rate counts (a
    DFME subject keeps one frame rate, so the subjects of a rate share exactly its samples), its clip folders and
    label-only subjects (`OfficialSplit`), and the rows a protocol names (`SyntheticLayout.pinned`)."""
    r = rng(seed, spec.key, "plan", "official")
    pinned_numbers = sorted({number for number, _, _ in spec.pinned})
    lo, hi = spec.subject_pool
    pool = [n for n in range(lo, max(hi, lo + spec.official_subjects - 1) + 1) if n not in pinned_numbers]
    numbers = pinned_numbers + [int(n) for n in r.choice(pool, spec.official_subjects - len(pinned_numbers),
                                                          replace=False)]
    numbers = [numbers[j] for j in r.permutation(len(numbers))]
    drafts: list[list[tuple[SplitSpec, int, float, list[str]]]] = []
    start = 0
    for split in spec.splits:
        subs = numbers[start:start + split.subjects]
        start += split.subjects
        drafts.append(_official_split(r, spec, split, subs))
    plans = []
    for split, draft in zip(spec.splits, drafts):
        clips = _clips_per_subject(r, spec, split, [len(labels) for _, _, _, labels in draft])
        for (_, number, fps, labels), n_clips in zip(draft, clips):
            pins = tuple((clip, label) for n, clip, label in spec.pinned if n == number)
            plans.append(_plan_subject(spec, config, seed, split, number, fps, labels, n_clips, pins))
    return plans


def _official_split(r: np.random.Generator, spec: DatasetSpec, split: SplitSpec, subs: list[int]
                    ) -> list[tuple[SplitSpec, int, float, list[str]]]:
    """(split, subject number, fps, labels) per subject of one split, the counts exactly the release's."""
    rates = split.fps or {spec.fps: split.samples}
    groups = allocate(len(subs), rates, minimum=1)
    counts: dict[int, int] = {}
    fps_of: dict[int, float] = {}
    i = 0
    for rate, n_subjects in groups.items():
        mine = subs[i:i + n_subjects]
        i += n_subjects
        shares = allocate(rates[rate], {k: float(r.gamma(4.0)) for k in range(len(mine))}, minimum=1)
        for k, number in enumerate(mine):
            counts[number], fps_of[number] = shares[k], float(rate)
    labels = [lab for lab, c in split.labels.items() for _ in range(c)]
    labels = [labels[j] for j in r.permutation(len(labels))]
    given: dict[int, list[str]] = {n: [] for n in subs}

    def take(number: int, allowed) -> None:
        while len(given[number]) < counts[number]:
            j = next((j for j, lab in enumerate(labels) if allowed(lab)), None)
            if j is None:
                raise ValueError(f"{spec.key}: the official layout asks for more labels than {split.name} holds")
            given[number].append(labels.pop(j))

    pinned = [(n, label) for n, _, label in spec.pinned if n in given]
    for number, label in pinned:  # a pinned row is its subject's first label (and its own clip)
        given[number].append(labels.pop(labels.index(label)))
    free = [n for n in subs if n not in {p for p, _ in pinned}]
    for n_subjects, only in split.label_only:
        for number in free[:n_subjects]:
            take(number, lambda lab, only=only: lab in only)
        free = free[n_subjects:]
    for number in subs:
        take(number, lambda lab: True)
    return [(split, n, fps_of[n], given[n]) for n in subs]


def _clips_per_subject(r: np.random.Generator, spec: DatasetSpec, split: SplitSpec, samples: list[int]
                       ) -> list[int | None]:
    """How many clips hold each subject's samples: the split's `clips` shared in proportion to the samples, at
    least one and at most min(samples, the layout's `max_clips_per_subject`) each; None (one clip per sample)
    where the split gives no clip count."""
    total = split.clips
    if total is None:
        return [None] * len(samples)
    cap = spec.max_clips_per_subject
    caps = [n if cap is None else min(n, cap) for n in samples]
    if not len(samples) <= total <= sum(caps):
        raise ValueError(f"{spec.key}: {total} clips cannot hold {sum(samples)} samples of {len(samples)} subjects")
    clips = allocate(total, {k: n for k, n in enumerate(samples)}, minimum=1)
    out = [min(clips[k], caps[k]) for k in range(len(samples))]
    order = [int(k) for k in r.permutation(len(samples))]
    while sum(out) < total:  # clips a cap took away go to subjects with room left
        k = next(k for k in order if out[k] < caps[k])
        out[k] += 1
        order = order[1:] + order[:1]
    return out


def _subject_fps(r: np.random.Generator, spec: DatasetSpec, split: SplitSpec, subs: list[int]) -> dict[int, float]:
    if not split.fps:
        return {n: spec.fps for n in subs}
    counts = allocate(len(subs), split.fps)
    rates = [float(f) for f, c in counts.items() for _ in range(c)]
    rates = [rates[j] for j in r.permutation(len(rates))]
    return dict(zip(subs, rates))


def _plan_subject(spec: DatasetSpec, config: SynthConfig, seed: int, split: SplitSpec, number: int, fps: float,
                  labels: list[str], n_clips: int | None = None, pinned: tuple[tuple[str, str], ...] = ()
                  ) -> SubjectPlan:
    """One subject's clips. n_clips: how many clips hold its labels (else drawn per `events_per_clip`); pinned:
    (clip, label) rows named by the release, each the first of `labels` in turn and alone in its clip."""
    subject = spec.subject_format.format(number)
    r = rng(seed, spec.key, subject, "subject")
    face = sample_face(rng(seed, spec.key, subject, "face"))
    lo, hi = spec.events_per_clip
    groups: list[list[str]] = [[label] for _, label in pinned]
    rest = list(labels[len(pinned):])
    if n_clips is not None:
        sizes = allocate(len(rest), {k: float(r.gamma(2.0)) for k in range(n_clips - len(pinned))}, minimum=1)
        for k in range(n_clips - len(pinned)):
            groups.append(rest[:sizes[k]])
            rest = rest[sizes[k]:]
    while rest:
        k = int(r.integers(lo, hi + 1)) if hi > lo else lo
        if hi > lo and len(rest) > 13 * hi:  # keep CAS(ME)^3 clip letters within a..m when possible
            k = hi
        groups.append(rest[:k])
        rest = rest[k:]
    names = _with_pinned(spec.clip_names(r, number, subject, [g[0] for g in groups]), [clip for clip, _ in pinned])
    clips = []
    for name, group in zip(names, groups):
        clips.append(_plan_clip(spec, config, seed, split, subject, name, fps, group, face))
    clips.sort(key=lambda c: c.clip)
    return SubjectPlan(spec.key, subject, face, clips)


def _with_pinned(names: list[str], pinned: list[str]) -> list[str]:
    """The adapter's drawn names with the pinned ones first: a pinned name already drawn swaps into its place,
    any other takes the place of the name drawn there (so the names stay the adapter's and stay distinct)."""
    out = list(names)
    for i, name in enumerate(pinned):
        if name in out:
            j = out.index(name)
            out[i], out[j] = out[j], out[i]
        else:
            out[i] = name
    return out


def _motion_emotion(r: np.random.Generator, spec: DatasetSpec, split: SplitSpec, label: str, noise: float
                    ) -> tuple[str, bool]:
    """The prototype that drives the motion; under label noise it comes from another label's prototypes."""
    noisy = bool(r.random() < noise)
    source = label
    if noisy:
        own = {p for p, _ in spec.emotion[label]}
        others = {lab: w for lab, w in split.labels.items() if not own & {p for p, _ in spec.emotion[lab]}}
        if others:
            keys = list(others)
            w = np.array([others[k] for k in keys], float)
            source = keys[int(r.choice(len(keys), p=w / w.sum()))]
        else:
            noisy = False
    protos = spec.emotion[source]
    w = np.array([x for _, x in protos], float)
    return protos[int(r.choice(len(protos), p=w / w.sum()))][0], noisy


def lead_frames(config: SynthConfig, fps: float) -> int:
    return int(np.clip(round(config.lead_ms * fps / 1000), 2, max(2, config.lead_max_frames)))


def _plan_clip(spec: DatasetSpec, config: SynthConfig, seed: int, split: SplitSpec, subject: str, clip: str,
               fps: float, labels: list[str], face: FaceParams) -> ClipPlan:
    r = rng(seed, spec.key, subject, clip, "clip")
    size = config.size
    lead = lead_frames(config, fps)
    lo, hi = spec.first_frame
    first = int(r.integers(lo, hi + 1)) if hi > lo else lo
    cursor = first + lead
    drafts = []
    for i, label in enumerate(labels):
        if i:
            gap_ms = r.uniform(*spec.gap_ms)
            cursor += max(lead + 1, round(gap_ms * fps / 1000))
        emotion, noisy = _motion_emotion(r, spec, split, label, config.label_noise)
        aus = sample_aus(r, emotion, config.extra_aus, config.unilateral)
        scale = math.exp(config.intensity_spread * r.standard_normal())
        peaks = [float(r.uniform(0.6, 1.0) * scale) for _ in aus]
        n = dynamics.duration_frames(r, fps, config.duration_ms)
        event = dynamics.make_event(r, cursor, n, aus, peaks, config.au_async)
        drafts.append((label, emotion, noisy, aus, event))
        cursor = event.offset
    last = cursor + lead
    frames = np.arange(first, last + 1)
    times = (frames - first) / fps

    # annotations (after the whole timeline is known, so that jitter stays inside the clip)
    events = []
    for label, emotion, noisy, aus, event in drafts:
        ann = dynamics.annotate(r, event, fps, config.jitter_ms, config.apex_jitter_ms, first, last)
        apex: int | None = ann[1]
        if spec.missing_apex and r.random() < config.missing_apex:
            apex = None
        if spec.folder_is_annotation:  # the clip folder is the annotation: first..last frame, no apex
            ann, apex = (first, None, last), None
        sid = spec.sample_id(subject, clip, ann[0])
        events.append(EventPlan(sid, label, emotion, noisy, aus, event, (ann[0], apex, ann[2]),
                                objective_class(aus)))

    # per-frame action-unit intensities: the expressions' AUs, then blinks
    tracks: dict[str, np.ndarray] = {}
    for e in events:
        for name, track in dynamics.intensity(e.event, frames).items():
            tracks[name] = tracks.get(name, 0) + track
    from harness.synth.aus import au_sort_key

    names = sorted(tracks, key=au_sort_key)
    amplitude = [float(config.amplitude)] * len(names)
    blink = nuisance.blink_track(rng(seed, spec.key, subject, clip, "blink"), len(frames), fps, config.blink_rate)
    if blink.any():
        names.append(BLINK)
        tracks[BLINK] = blink
        amplitude.append(round(0.45 * face.eye_h * face_unit(face, size), 4))
    intensity = np.round(np.stack([tracks[n] for n in names], 1) if names else np.zeros((len(frames), 0)), 5)

    pose = nuisance.clip_pose(rng(seed, spec.key, subject, clip, "pose"), size,
                              (face.cx * size, face.cy * size), config.clip_pose)
    centre = tuple(pose @ np.array([face.cx * size, face.cy * size, 1.0]))
    head = nuisance.head_track(rng(seed, spec.key, subject, clip, "head"), times, centre,
                               config.head_motion, config.head_rotation)
    gain = nuisance.flicker_gain(rng(seed, spec.key, subject, clip, "flicker"), times, config.flicker)
    extra = spec.extra(clip)
    return ClipPlan(dataset=spec.key, subject=subject, clip=clip, split=split.name, fps=fps, first=first,
                    last=last, pose=pose, events=events, au_names=names, amplitude=amplitude, intensity=intensity,
                    head=head, gain=gain, noise_seed=derive_seed(seed, spec.key, subject, clip, "noise"),
                    extra=extra)
