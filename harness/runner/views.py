"""Build the TrainSet / TestSet a fold's bundle receives from task rows and staged frames.

Samples carry their opaque id (opaque.py), never the release id. The test side is built from `Sample`, a class
with no label, emotion or action-unit fields, and comes sorted by (content key, opaque id), not in the
release's order; key frames are withheld when the protocol says test samples come without them. The training
side keeps the table's order (its labels are the fold's to see anyway).
"""
from __future__ import annotations

from typing import Sequence

from harness.api import LabelledSample, Sample, TestSet, TrainSet


def _int_or_none(v) -> int | None:
    try:
        import pandas as pd

        return None if pd.isna(v) else int(v)
    except TypeError:
        return int(v)


def train_set(table, positions: Sequence[int], staged: dict, classes: Sequence[str]) -> TrainSet:
    rows = table.iloc[list(positions)]
    samples = []
    for r in rows.itertuples(index=False):
        s = staged[r.uid]
        samples.append(LabelledSample(
            sample_id=s.sample_id, dataset=r.dataset, subject=str(r.subject), fps=float(r.fps),
            onset=_int_or_none(r.onset), apex=_int_or_none(r.apex), offset=_int_or_none(r.offset),
            frame_indices=s.frame_indices, frames_dir=s.frames_dir, frame_files=s.frame_files,
            cache_key=s.cache_key, label=r.label, label_index=int(r.label_index), emotion=r.emotion or "",
            aus=r.aus or ""))
    return TrainSet(samples, classes)


def test_set(table, positions: Sequence[int], staged: dict, classes: Sequence[str], keyframes: bool) -> TestSet:
    rows = table.iloc[list(positions)]
    samples = []
    for r in rows.itertuples(index=False):
        s = staged[r.uid]
        samples.append(Sample(
            sample_id=s.sample_id, dataset=r.dataset, subject=str(r.subject), fps=float(r.fps),
            onset=_int_or_none(r.onset) if keyframes else None, apex=_int_or_none(r.apex) if keyframes else None,
            offset=_int_or_none(r.offset) if keyframes else None, frame_indices=s.frame_indices,
            frames_dir=s.frames_dir, frame_files=s.frame_files, cache_key=s.cache_key))
    return TestSet(sorted(samples, key=lambda s: (s.cache_key, s.sample_id)), classes)
