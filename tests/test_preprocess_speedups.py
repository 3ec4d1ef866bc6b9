"""The scale speed-ups keep their results: each one against what it replaced, on the same input.

- cache entries as one raw file (`encode_entry`) instead of a zip archive: the same arrays and metadata, bit for
  bit, and the archives written before still read (and verify);
- region motion on a frame grid aligns only those frames, with the same rows as the full computation;
- TIM as one (n x m) matrix: the same frames as the two-step cosine-series form it replaced;
- concurrent folds: a sample another fold's supervisor is computing is put off, not waited for;
- the stage clock: nested stages are exclusive and add up.
"""
from __future__ import annotations

import io
import json
import multiprocessing as mp
import time

import numpy as np
import pytest

from harness.preprocess.cache import RAW_DTYPES, Cache, decode_entry, encode_entry, entry_mac


# --- the stage clock --------------------------------------------------------------------------------------------
def test_nested_stages_are_exclusive_and_add_up():
    from harness.preprocess.timing import StageClock, merge

    clock = StageClock()
    t0 = time.perf_counter()
    with clock.stage("outer"):
        time.sleep(0.02)
        with clock.stage("inner"):
            time.sleep(0.05)
        time.sleep(0.02)
    total = time.perf_counter() - t0
    report = clock.report()
    assert report["inner"]["wall_s"] >= 0.045 and 0.035 <= report["outer"]["wall_s"] < 0.045 + 0.02
    assert abs(report["inner"]["wall_s"] + report["outer"]["wall_s"] - total) < 0.005
    both = merge(report, report)
    assert both["inner"]["calls"] == 2 and both["outer"]["wall_s"] == pytest.approx(2 * report["outer"]["wall_s"])
