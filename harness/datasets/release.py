"""Write a dataset in its official release layout: frames + annotation file(s).

One function serves the synthetic corpus and the tests' format fixtures, so that both exercise exactly the
layout the adapters read.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from harness.datasets import get_adapter
from harness.datasets.base import AnnotationRecord
from harness.imageio import write_frame

FrameSource = Callable[[AnnotationRecord, int], "object"]  # (record, frame index) -> uint8 image


def clip_frame_range(records: Sequence[AnnotationRecord], lead: int = 0, trail: int = 0) -> dict[tuple, range]:
    """Frames each clip needs: the union of its micro-expressions' onset..offset, widened by lead/trail."""
    spans: dict[tuple, list[int]] = {}
    for r in records:
        key = (r.subject, r.clip, r.emotion if r.split == "all" else r.split)
        lo, hi = spans.get(key, [r.onset, r.offset])
        spans[key] = [min(lo, r.onset), max(hi, r.offset)]
    return {k: range(max(0, lo - lead), hi + trail + 1) for k, (lo, hi) in spans.items()}


def write_release(dataset_root: Path, key: str, records: Sequence[AnnotationRecord], frames: FrameSource,
                  jpeg_quality: int = 90, write_frames: bool = True) -> list[Path]:
    """Write `records` under `dataset_root` (DATA_ROOT/<key>) in `key`'s official layout.

    Each clip's frames are written once, over the union of its micro-expressions' spans (CAS(ME)^3 clips hold
    several). `frames(record, index)` renders one frame. Returns the annotation files written.
    """
    adapter = get_adapter(key)
    dataset_root.mkdir(parents=True, exist_ok=True)
    if write_frames:
        done: set[Path] = set()
        for r in records:
            for i in range(r.onset, r.offset + 1):
                path = adapter.frame_path(dataset_root, r, i)
                if path in done:
                    continue
                write_frame(path, frames(r, i), jpeg_quality)
                done.add(path)
    return adapter.write_annotations(dataset_root, records)
