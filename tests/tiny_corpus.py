"""A tiny corpus in the official layouts for runner tests (random 16x16 frames; labels follow the fixture).

Small on purpose: the runner's machinery (folds, staging, isolation, resume, limits) is under test here, not
recognition. The synthetic-corpus tests exercise realistic data.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from harness.datasets.base import AnnotationRecord
from harness.datasets.release import write_release

CASME3_EMOTIONS = ["disgust", "happy", "surprise", "disgust", "Others", "fear"]
DFME_EMOTIONS = ["anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise"]


def _frames(seed: int):
    def render(record: AnnotationRecord, index: int) -> np.ndarray:
        rng = np.random.default_rng([seed, zlib.crc32(f"{record.subject}/{record.clip}".encode()), index])
        base = 60 + 20 * (DFME_EMOTIONS + CASME3_EMOTIONS).index(record.emotion) % 180
        return np.clip(rng.normal(base, 10, (16, 16, 3)), 0, 255).astype(np.uint8)
    return render


def write_tiny_corpus(root: Path, casme3_subjects: int = 4, seed: int = 0) -> Path:
    """casme3 (LOSO) and dfme (train / test_A / test_B) at a size where a full submit takes seconds."""
    recs = [AnnotationRecord(f"spNO.{s}", chr(97 + j), 10 * j + 1, 10 * j + 3, 10 * j + 6, e, "4+7", 30)
            for s in range(1, casme3_subjects + 1) for j, e in enumerate(CASME3_EMOTIONS)]
    write_release(root / "casme3", "casme3", recs, _frames(seed))
    splits = [("train", 4), ("test_A", 2), ("test_B", 2)]
    dfme, n = [], 1
    for split, count in splits:
        for _ in range(count):
            for j, e in enumerate(DFME_EMOTIONS):
                dfme.append(AnnotationRecord(f"sub{n:04d}", f"sub{n:04d}_{j:02d}", 0, 2, 5, e, "4", 200, split))
            n += 1
    write_release(root / "dfme", "dfme", dfme, _frames(seed))
    return root
