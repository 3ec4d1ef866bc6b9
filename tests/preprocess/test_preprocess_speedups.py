"""The scale speed-ups keep their results: each one against what it replaced, on the same input.

- cache entries as one raw file (`encode_entry`) instead of a zip archive: the same arrays and metadata, bit for
  bit, and the archives written before still read (and verify);
- region motion on a frame grid aligns only those frames, with the same rows as the full computation;
- TIM as one (n x m) matrix: the same frames as the two-step cosine-series form it replaced;
- concurrent folds: a sample another fold's supervisor is computing is put off, not waited for;
- the stage clock: nested stages are exclusive and add up.
"""
from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest

from harness.preprocess.cache import RAW_DTYPES, Cache, decode_entry, encode_entry, entry_mac
from tests.bench.before import tim_two_steps, zip_entry


# --- cache entries ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", sorted(RAW_DTYPES))
def test_raw_entries_round_trip_every_dtype_bit_for_bit(dtype):
    rng = np.random.default_rng(3)
    arrays = {"a": (rng.random((3, 4, 2)) * 100).astype(np.dtype(dtype)), "scalar": np.array(7, dtype=dtype),
              "empty": np.zeros((0, 5), dtype=dtype)}
    meta = {"found": True, "n": 3, "__key__": "k" * 40}
    back, got = decode_entry(encode_entry(arrays, meta))
    assert got == meta and set(back) == set(arrays)
    for name, a in arrays.items():
        assert back[name].dtype == a.dtype and back[name].shape == a.shape
        assert back[name].tobytes() == a.tobytes()
        assert back[name].flags.writeable  # callers may modify what they load, as they could before


def test_entries_written_as_zip_archives_still_load_and_verify(tmp_path):
    c = Cache(tmp_path)
    key = c.key("flow", {"f": 1})
    arrays = {"flow": np.random.default_rng(0).random((28, 28, 2)).astype(np.float32)}
    meta = {"n": 1}
    mac = entry_mac(c.mac_key, "flow", key, arrays, meta)
    path = c.entry_path("flow", key)
    path.parent.mkdir(parents=True)
    path.write_bytes(zip_entry(arrays, {**meta, "__key__": key, "__mac__": mac}))
    got = c.load("flow", key)
    assert got is not None and got[1] == meta and np.array_equal(got[0]["flow"], arrays["flow"])
    c.save("flow", key, *got)   # rewritten in the raw form: same MAC, same content
    assert path.read_bytes().startswith(b"HXCACHE1")
    again = Cache(tmp_path).load("flow", key)
    assert again[1] == meta and np.array_equal(again[0]["flow"], arrays["flow"])


@pytest.mark.parametrize("damage", ["truncated", "extended", "header"])
def test_a_damaged_raw_entry_is_dropped_not_returned(tmp_path, damage):
    c = Cache(tmp_path)
    key = c.key("flow", {"f": 2})
    c.save("flow", key, {"x": np.arange(10.0)}, {"n": 1})
    path = c.entry_path("flow", key)
    data = path.read_bytes()
    path.write_bytes({"truncated": data[:-3], "extended": data + b"\0" * 8,
                      "header": data[:20] + b"{" + data[21:]}[damage])
    assert c.load("flow", key) is None and not path.exists()


def test_arrays_of_other_dtypes_fall_back_to_the_zip_archive():
    arrays = {"names": np.array(["a", "bc"]), "x": np.arange(3)}
    back, meta = decode_entry(encode_entry(arrays, {"n": 1}))
    assert meta == {"n": 1} and list(back["names"]) == ["a", "bc"] and list(back["x"]) == [0, 1, 2]


# --- region motion on a frame grid ---------------------------------------------------------------------------------
@pytest.mark.mediapipe
def test_region_motion_on_a_grid_aligns_only_the_grid_frames_with_the_full_rows(tmp_path, monkeypatch):
    from harness.preprocess import Preprocessor
    from harness.preprocess.preprocessor import Preprocessor as P
    from harness.preprocess.testing import make_clip

    sample = make_clip(tmp_path / "clip", n_frames=41, apex_position=20, fps=500.0).sample
    aligned: list[int] = []
    real = P._stabilise_frames
    monkeypatch.setattr(P, "_stabilise_frames",
                        lambda self, s, cfg, frames, face: aligned.append(len(frames)) or real(self, s, cfg, frames,
                                                                                               face))
    sparse = Preprocessor(tmp_path / "cold").region_motion(sample, sample_rate=30.0)   # no track cached
    assert aligned == [len(sparse.frame_indices)] == [3]   # the onset (t = 0) and two grid frames, not 41
    full = Preprocessor(tmp_path / "other").region_motion(sample)
    rows = [list(full.frame_indices).index(f) for f in sparse.frame_indices]
    assert np.array_equal(sparse.values, full.values[rows])   # the same bits
    assert aligned[-1] == 41


# --- TIM -----------------------------------------------------------------------------------------------------------
def test_tim_as_one_matrix_gives_the_frames_of_the_two_step_form():
    from harness.preprocess.temporal import tim

    rng = np.random.default_rng(5)
    for m in (2, 3, 7, 10, 33, 120):
        clip = rng.integers(0, 256, (m, 64, 64), dtype=np.uint8)
        assert np.array_equal(tim(clip, 10), tim_two_steps(clip, 10)), m   # uint8 frames: identical
        seq = rng.normal(size=(m, 17, 2))
        np.testing.assert_allclose(tim(seq, 16), tim_two_steps(seq, 16), rtol=0, atol=1e-12)


# --- concurrent folds -----------------------------------------------------------------------------------------------
def _hold(root: str, key: str, ready, release) -> None:
    with Cache(root)._locked(key):
        ready.set()
        release.wait(30)


@pytest.mark.mediapipe
def test_a_sample_another_fold_computes_is_put_off_not_waited_for(tmp_path):
    """Two folds' supervisors share one cache: while one computes a sample's face, the other fold's `map` goes on
    to its next sample and comes back to that one at the end (then a cache hit), instead of queueing."""
    from harness.preprocess.config import FaceConfig
    from harness.preprocess.preprocessor import Preprocessor
    from harness.preprocess.testing import make_clip
    from tests.fold_link import fold_over_broker

    samples = [make_clip(tmp_path / f"c{i}", n_frames=4, apex_position=2, sample_id=f"s{i}").sample
               for i in range(2)]
    root = tmp_path / "cache" / "preprocess"
    broker, pre = fold_over_broker(root, tmp_path / "scratch", samples)
    # the landmarks of s0 are being computed by another fold's supervisor (its lock is held)
    probe = Preprocessor(tmp_path / "cache")
    busy = probe.cache.key("landmarks", {"frames": samples[0].cache_key, "frame": samples[0].frame_indices[0],
                                         "detector": __import__("harness.preprocess.landmarks",
                                                                fromlist=["SETTINGS"]).SETTINGS})
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(root), busy, ready, release))
    holder.start()
    assert ready.wait(30)
    order: list[str] = []

    def one(s):
        order.append(s.sample_id)
        if s.sample_id == "s1":
            release.set()   # the other fold finishes meanwhile
            holder.join(30)
        return pre.face(s, FaceConfig())

    batch = pre.map(samples, one)
    assert order == ["s0", "s1", "s0"]     # put off, then done at the end
    assert batch.sample_ids == ("s0", "s1") and broker.stats["busy"] == 1


# --- the stage clock --------------------------------------------------------------------------------------------
def test_nested_stages_are_exclusive_and_add_up(monkeypatch):
    """On a clock the test moves itself (no sleeping, no timing: the same answer on a busy machine)."""
    import types

    from harness.preprocess import timing

    now = [100.0]
    monkeypatch.setattr(timing, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))
    clock = timing.StageClock()
    with clock.stage("outer"):
        now[0] += 0.02
        with clock.stage("inner"):
            now[0] += 0.05
            with clock.stage("outer"):   # a stage inside itself is charged once, not twice
                now[0] += 0.003
        now[0] += 0.02
    report = clock.report()
    assert report == {"inner": {"wall_s": 0.05, "calls": 1}, "outer": {"wall_s": 0.043, "calls": 2}}
    assert report["inner"]["wall_s"] + report["outer"]["wall_s"] == pytest.approx(now[0] - 100.0)
    both = timing.merge(report, report)
    assert both == {"inner": {"wall_s": 0.1, "calls": 2}, "outer": {"wall_s": 0.086, "calls": 4}}
