"""The real releases' defects, planted in the synthetic corpus, and the errata of that synthetic release.

The official files have rows whose key frames contradict each other (shared/reference/real-annotation-files.md):
CAS(ME)^3 an apex before its onset, an onset typed after its offset, two offsets of 0 in one clip, an offset with
two digits too many, an onset and apex of 0; SAMM an apex after its offset and one before its onset. The
generator writes the same kinds of rows, so that every run of the main job goes through the errata and the
defect policy the real files need:

- each *listed* kind is corrected by the synthetic release's own errata, written beside the ground truth as
  `_truth/<dataset>/errata.yaml` (same format as `harness/datasets/errata/*.yaml`);
- two kinds are left *unlisted*, as a defect nobody has reported yet would be: a CAS(ME)^3 offset of 0 (the
  sample is excluded and counted) and a SAMM apex outside onset..offset (treated as missing, a warning).

Why errata of its own rather than the real releases' files: the real errata name their rows by identity in the
real sheets (subject spNO.149, clip d, onset 112; SAMM 028_4_1) and by sheet row (130 to 800); a corpus of a
hundred rows drawn from a seed has neither, and planting fixed real identities would tie the synthetic layout
to facts of another file. The real errata files are exercised by the tests on fixtures with the real
composition (tests/official_releases.py), the synthetic errata by every run on the corpus. Both go through the
same reader, validator and applier. The planted values are the generator's plan: applying the errata restores
exactly the annotation the frames were rendered for, and the ground truth (`Truth.annotated`) holds it; sample
ids are those of the rows as written (a CAS(ME)^3 id keeps the onset as written), as on a real release.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness.synth.seeds import rng

Frames = tuple[int, "int | None", int]


@dataclass(frozen=True)
class DefectKind:
    name: str
    like: str                            # the real row it imitates
    corrupt: Callable[[Frames], Frames]  # planned (onset, apex, offset) -> as written
    listed: bool                         # corrected by the synthetic errata; else left to the defect policy
    needs_apex: bool = False
    same_clip_as: str | None = None      # plant in the clip of another kind's row when the clip allows it


def _apex_before_onset(f: Frames) -> Frames:
    on, ap, off = f
    return on, max(0, on - 29), off


def _digit_slip(f: Frames) -> Frames:  # SAMM 032_3_1: apex 4945 (or 4930) written 1930
    on, ap, off = f
    return on, (ap - 3000 if ap - 3000 >= 0 else ap // 3), off


PLANTED: dict[str, tuple[DefectKind, ...]] = {
    "casme3": (
        DefectKind("apex-before-onset", "CAS(ME)^3 row 130 (apex 83, onset 112)", _apex_before_onset, True, True),
        DefectKind("offset-digits-appended", "CAS(ME)^3 row 710 (offset 34 written 3460)",
                   lambda f: (f[0], f[1], f[2] * 100 + 60), True),
        DefectKind("onset-after-offset", "CAS(ME)^3 row 751 (onset 2647 written 3647)",
                   lambda f: (f[0] + 1000, f[1], f[2]), True),
        DefectKind("onset-apex-zero", "CAS(ME)^3 row 752 (onset and apex 0)", lambda f: (0, 0, f[2]), True, True),
        DefectKind("offset-zero", "CAS(ME)^3 row 798 (offset 0)", lambda f: (f[0], f[1], 0), True),
        DefectKind("offset-zero-again", "CAS(ME)^3 row 800 (a second offset 0 in the same clip)",
                   lambda f: (f[0], f[1], 0), True, same_clip_as="offset-zero"),
        DefectKind("offset-zero-unlisted", "a defect no erratum lists (policy: sample excluded)",
                   lambda f: (f[0], f[1], 0), False),
    ),
    "samm": (
        DefectKind("apex-after-offset", "SAMM row 140 (apex 1143, offset 1134)",
                   lambda f: (f[0], f[2] + 9, f[2]), True, True),
        DefectKind("apex-digit-slip", "SAMM row 147 (apex 1930, onset 4896)", _digit_slip, True, True),
        DefectKind("apex-outside-unlisted", "a defect no erratum lists (policy: apex treated as missing)",
                   lambda f: (f[0], f[2] + 20, f[2]), False, True),
    ),
}
FIELDS = {"casme3": ("Onset", "Apex", "Offset"), "samm": ("Onset Frame", "Apex Frame", "Offset Frame")}
SOURCE = "plan"


def plant(plan) -> None:
    """Write the defects of PLANTED[plan.key] into a planned dataset (deterministic in its seed): each chosen
    event keeps its planned annotation and gains `released`, what the written file says. Fewer defects than kinds
    when the corpus has fewer events; the events of a CAS(ME)^3 clip `j` are written with clip `J`, as the
    release writes one of its clips."""
    from harness.synth.plan import SAMPLE_IDS

    kinds = PLANTED.get(plan.key, ())
    events = [(c, e) for s in plan.subjects for c in s.clips for e in c.events]
    if plan.key == "casme3":
        for c, e in events:
            if c.clip == "j":
                c.written_clip = "J"
                break
    if not kinds or not events:
        _reidentify(plan, SAMPLE_IDS[plan.key])
        return
    sample_id = SAMPLE_IDS[plan.key]
    r = rng(plan.seed, plan.key, "defects")
    order = [events[i] for i in r.permutation(len(events))]
    taken: dict[str, tuple] = {}
    for kind in kinds:
        pool = [(c, e) for c, e in order if e.defect is None and (not kind.needs_apex or e.annotated[1] is not None)]
        if kind.same_clip_as in taken:
            same = [(c, e) for c, e in pool if c is taken[kind.same_clip_as][0]]
            pool = same or pool
        for clip, event in pool:
            written = kind.corrupt(event.annotated)
            ids = {sample_id(clip.subject, clip.clip, e.written[0]) for e in clip.events if e is not event}
            if sample_id(clip.subject, clip.clip, written[0]) in ids:
                continue  # the onset as written would name another row of the clip
            event.defect, event.released = kind.name, written
            taken[kind.name] = (clip, event)
            break
    _reidentify(plan, sample_id)


def _reidentify(plan, sample_id) -> None:
    """Sample ids from the rows as written (the onset and clip a release's file says)."""
    for s in plan.subjects:
        for c in s.clips:
            for e in c.events:
                e.sample_id = sample_id(c.subject, c.written_clip or c.clip, e.written[0])


def errata_document(plan, header_row: int, file_name: str, sheet: str, version: str) -> dict | None:
    """The synthetic release's errata (the harness errata format) for the listed defects planted in `plan`, or
    None when there are none. Rows are the sheet rows the adapter writes (records in plan order)."""
    records = plan.records()
    events = [e for s in plan.subjects for c in s.clips for e in c.events]
    corrections = []
    on_f, ap_f, off_f = FIELDS[plan.key]
    for i, (rec, e) in enumerate(zip(records, events)):
        kind = next((k for k in PLANTED[plan.key] if k.name == e.defect), None) if e.defect else None
        if kind is None or not kind.listed:
            continue
        identity = {"Subject": rec.subject, "Filename": rec.clip}
        if plan.key == "casme3":
            identity["Onset"] = e.released[0]  # one clip holds several MEs: the onset as written names the row
        for field, planned, written in zip((on_f, ap_f, off_f), e.annotated, e.released):
            if planned != written:
                corrections.append({"row": header_row + 1 + i, "identity": identity, "field": field,
                                    "released": written, "corrected": planned, "source": SOURCE,
                                    "why": f"planted defect {kind.name}, like {kind.like}"})
    if not corrections:
        return None
    return {"errata": f"synthetic-{plan.key}", "version": version, "dataset": plan.key, "file": file_name,
            "sheet": sheet,
            "description": f"Defects the generator planted in this synthetic corpus (seed {plan.seed}); the "
                           "corrected values are its plan, for which the frames were rendered.",
            "sources": {SOURCE: "the generator's plan (harness synth)"}, "corrections": corrections}


def write_errata(plan, truth_dir: Path, version: str) -> Path | None:
    """`_truth/<dataset>/errata.yaml` for the planted defects of `plan` (nothing when none are listed)."""
    import yaml

    from harness.datasets import get_adapter
    from harness.datasets.errata import SYNTHETIC_FILE

    if plan.key not in FIELDS:
        return None
    adapter = get_adapter(plan.key)
    doc = errata_document(plan, adapter.header_row, adapter.annotation_name, adapter.annotation_sheet, version)
    if doc is None:
        return None
    path = Path(truth_dir) / SYNTHETIC_FILE
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=False, width=120), encoding="utf-8")
    return path


def planted_summary(plan) -> list[dict]:
    """For the manifest: every planted defect, its sample id and whether the synthetic errata list it."""
    kinds = {k.name: k for k in PLANTED.get(plan.key, ())}
    return [{"sample_id": e.sample_id, "kind": e.defect, "listed": kinds[e.defect].listed,
             "written": list(e.released), "planned": list(e.annotated)}
            for s in plan.subjects for c in s.clips for e in c.events if e.defect]
