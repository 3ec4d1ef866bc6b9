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

from pathlib import Path

from harness.synth.seeds import rng

SOURCE = "plan"


def _spec(plan):
    from harness.synth.specs import get_spec

    return get_spec(plan.key)


def plant(plan) -> None:
    """Write the defects the adapter's synthetic layout lists into a planned dataset (deterministic in its seed):
    each chosen event keeps its planned annotation and gains `released`, what the written file says. Fewer defects
    than kinds when the corpus has fewer events; the first clip whose folder the layout writes under another name
    in the annotation gets it (CAS(ME)^3 writes its clip `j` as `J`)."""
    spec = _spec(plan)
    kinds = spec.defects
    events = [(c, e) for s in plan.subjects for c in s.clips for e in c.events]
    for folder, written in spec.written_clip.items():
        c = next((c for c, _ in events if c.clip == folder), None)
        if c is not None:
            c.written_clip = written
    sample_id = spec.sample_id
    if not kinds or not events:
        _reidentify(plan, sample_id)
        return
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
    spec = _spec(plan)
    records = plan.records()
    events = [e for s in plan.subjects for c in s.clips for e in c.events]
    corrections = []
    on_f, ap_f, off_f = spec.key_frame_columns
    for i, (rec, e) in enumerate(zip(records, events)):
        kind = next((k for k in spec.defects if k.name == e.defect), None) if e.defect else None
        if kind is None or not kind.listed:
            continue
        cells = {"Subject": rec.subject, "Filename": rec.clip, on_f: e.released[0]}  # the onset as written
        identity = {c: cells[c] for c in spec.identity_columns}
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

    if _spec(plan).key_frame_columns is None:
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
    kinds = {k.name: k for k in _spec(plan).defects}
    return [{"sample_id": e.sample_id, "kind": e.defect, "listed": kinds[e.defect].listed,
             "written": list(e.released), "planned": list(e.annotated)}
            for s in plan.subjects for c in s.clips for e in c.events if e.defect]
