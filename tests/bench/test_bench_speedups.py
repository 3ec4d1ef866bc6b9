"""The scale speed-ups side by side with what they replaced, in one run (tests/bench/before.py holds the old
forms; tests/preprocess/test_preprocess_speedups.py shows that both give the same results).

- a cache hit: one raw entry vs the zip archive entries were before (the same arrays, MAC checked either way),
  for the entry sizes a run reads most: a feature vector, a 28 px flow, a 96-frame 128 px face track;
- TIM (LBP-TOP's temporal interpolation): one (n x m) weight matrix vs coefficients then curve;
- region motion of a 500 fps clip on a 30 Hz grid from a cold cache: only the grid frames aligned vs the whole
  clip aligned first (what `region_motion` did before);
- a lone fold's `map` over clips from a cold cache, on 2 cores: its supervisor reading ahead on the second core vs
  one sample at a time with OpenCV given the second thread (what a DFME phase's fold did before).

Run: `make bench` (or `pytest -m bench --benchmark-enable -p no:xdist tests/bench/test_bench_speedups.py`).
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from harness.preprocess.cache import Cache, entry_mac
from tests.bench.before import tim_two_steps, zip_entry

pytestmark = pytest.mark.bench

ENTRIES = {
    "feature vector (1,770 float32)": {"values": np.random.default_rng(0).random(1770).astype(np.float32)},
    "flow 28 px": {"flow": np.random.default_rng(1).random((28, 28, 2)).astype(np.float32)},
    "track 96 x 128 px": {"frames": np.random.default_rng(2).integers(0, 256, (96, 128, 128), dtype=np.uint8),
                          "matrices": np.random.default_rng(3).random((96, 2, 3))},
}


@pytest.mark.parametrize("entry", list(ENTRIES))
@pytest.mark.parametrize("form", ["zip archive (before)", "raw (now)"])
def test_bench_cache_hit(benchmark, tmp_path, entry, form):
    cache = Cache(tmp_path)
    arrays, meta = ENTRIES[entry], {"n": 1, "found": True}
    key = cache.key("bench", {"entry": entry})
    if form.startswith("zip"):
        path = cache.entry_path("bench", key)
        path.parent.mkdir(parents=True)
        mac = entry_mac(cache.mac_key, "bench", key, arrays, meta)
        path.write_bytes(zip_entry(arrays, {**meta, "__key__": key, "__mac__": mac}))
    else:
        cache.save("bench", key, arrays, meta)
    benchmark.group = f"cache hit: {entry}"
    got = benchmark(cache.load, "bench", key)
    assert got is not None and all(np.array_equal(got[0][k], v) for k, v in arrays.items())


@pytest.mark.parametrize("form", ["coefficients then curve (before)", "one weight matrix (now)"])
def test_bench_tim(benchmark, form):
    from harness.preprocess.temporal import tim

    clip = np.random.default_rng(4).integers(0, 256, (60, 112, 112), dtype=np.uint8)  # a 30 fps clip, to 10
    fn = tim_two_steps if form.endswith("(before)") else tim
    benchmark.group = "TIM: 60 frames of 112 px to 10"
    out = benchmark(fn, clip, 10)
    assert np.array_equal(out, tim_two_steps(clip, 10))


@pytest.fixture(scope="module")
def fast_clip(tmp_path_factory):
    """A 500 fps clip of 101 frames (200 ms: one micro-expression), 128 px."""
    from harness.preprocess.testing import make_clip

    return make_clip(tmp_path_factory.mktemp("fast") / "clip", n_frames=101, apex_position=50, fps=500.0).sample


@pytest.mark.parametrize("form", ["whole clip aligned first (before)", "grid frames only (now)"])
def test_bench_region_motion_on_a_grid(benchmark, tmp_path, fast_clip, form):
    from harness.preprocess import Preprocessor

    Preprocessor(tmp_path / "warm-up").face(fast_clip)  # MediaPipe start-up, not counted
    before = form.endswith("(before)")

    def setup():
        shutil.rmtree(tmp_path / "cache", ignore_errors=True)
        return (Preprocessor(tmp_path / "cache"),), {}

    def run(pp):
        if before:
            pp.aligned_clip(fast_clip)  # every frame aligned (and cached) first, as region_motion did
        return pp.region_motion(fast_clip, sample_rate=30.0)

    benchmark.group = "region motion, 500 fps clip of 101 frames on a 30 Hz grid, cold cache"
    out = benchmark.pedantic(run, setup=setup, rounds=3, iterations=1)
    assert len(out.frame_indices) == 7


@pytest.fixture(scope="module")
def lone_fold_clips(tmp_path_factory):
    """24 60-frame 128 px clips (DFME's are 90 frames on average), each its own content: above
    `readahead.MIN_SAMPLES`, as a phase's 1,856 and 474 are."""
    from harness.preprocess.testing import make_clip

    root = tmp_path_factory.mktemp("lone")
    return [make_clip(root / f"c{i}", n_frames=60, apex_position=30, amplitude=1.0 + 0.05 * i,
                      sample_id=f"s{i}").sample for i in range(24)]


@pytest.mark.parametrize("form", ["one sample at a time, 2 OpenCV threads (before)", "read-ahead on the 2nd core (now)"])
def test_bench_lone_fold_read_ahead(benchmark, tmp_path, lone_fold_clips, form):
    from harness.preprocess import Preprocessor
    from tests.fold_link import fold_over_broker

    Preprocessor(tmp_path / "warm-up").face(lone_fold_clips[0])  # MediaPipe start-up, not counted
    ahead = form.endswith("(now)")
    rounds = iter(range(1000))

    def setup():
        where = tmp_path / f"round{next(rounds)}"
        broker, pre = fold_over_broker(where / "cache" / "preprocess", where / "scratch", lone_fold_clips, 2, ahead)
        return (broker, pre), {}

    def run(broker, pre):
        batch = pre.map(lone_fold_clips, lambda s: pre.aligned_clip(s).shape)
        broker.close()
        return broker, batch

    benchmark.group = "a lone fold's map: aligned clips of 24 x 60 frames, cold cache, 2 cores"
    broker, batch = benchmark.pedantic(run, setup=setup, rounds=3, iterations=1)
    assert len(batch) == 24 and (broker.stats["read_ahead_computed"] > 0) == ahead
