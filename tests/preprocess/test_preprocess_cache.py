"""The content-addressed cache: keys, hits, damaged and partial entries, parallel workers, and `harness cache`."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harness.cli.main import main
from harness.preprocess import cache as cache_mod
from harness.preprocess.cache import Cache, CacheBusy, parse_age


def compute_once(counter: list):
    def compute():
        counter.append(1)
        return {"x": np.arange(6, dtype=np.float32).reshape(2, 3)}, {"note": "hello", "n": 3}
    return compute


def test_miss_then_hit_returns_the_same_arrays_and_meta(tmp_path):
    c = Cache(tmp_path)
    calls: list = []
    a, meta_a = c.get_or_compute("flow", {"frames": "abc", "p": 1}, compute_once(calls))
    b, meta_b = c.get_or_compute("flow", {"frames": "abc", "p": 1}, compute_once(calls))
    assert len(calls) == 1 and np.array_equal(a["x"], b["x"]) and meta_a == meta_b == {"note": "hello", "n": 3}
    assert c.hits["flow"] == 1 and c.misses["flow"] == 1
    c.get_or_compute("flow", {"frames": "abc", "p": 2}, compute_once(calls))
    c.get_or_compute("flow", {"frames": "abd", "p": 1}, compute_once(calls))
    c.get_or_compute("face", {"frames": "abc", "p": 1}, compute_once(calls))
    assert len(calls) == 4  # any change of frames, parameter or kind is another entry


def test_key_is_order_independent_and_includes_code_and_library_versions(tmp_path, monkeypatch):
    c = Cache(tmp_path)
    k = c.key("flow", {"a": 1, "b": [1, 2]})
    assert k == c.key("flow", {"b": [1, 2], "a": 1}) and len(k) == 40
    monkeypatch.setattr(cache_mod, "CODE_VERSION", "999")
    assert c.key("flow", {"a": 1, "b": [1, 2]}) != k
    assert set(cache_mod.library_versions()) == {"opencv", "mediapipe", "numpy"}


def test_a_damaged_entry_is_dropped_and_recomputed(tmp_path):
    c = Cache(tmp_path)
    calls: list = []
    c.get_or_compute("flow", {"f": 1}, compute_once(calls))
    path = c.entry_path("flow", c.key("flow", {"f": 1}))
    path.write_bytes(path.read_bytes()[:50])  # truncated, as by a full disk
    arrays, _ = c.get_or_compute("flow", {"f": 1}, compute_once(calls))
    assert len(calls) == 2 and arrays["x"].shape == (2, 3)
    # an entry holding another key's data (a copied file) is not trusted either
    other = c.entry_path("flow", c.key("flow", {"f": 2}))
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_bytes(path.read_bytes())
    assert c.load("flow", c.key("flow", {"f": 2})) is None and not other.exists()


def test_killed_writes_leave_only_ignored_temp_files_that_clear_removes(tmp_path):
    c = Cache(tmp_path)
    key = c.key("flow", {"f": 1})
    path = c.entry_path("flow", key)
    path.parent.mkdir(parents=True)
    partial = path.parent / f".{path.name}.abc123.tmp"   # what a SIGKILL during atomic_write_bytes leaves
    partial.write_bytes(b"PK\x03\x04 half an entry")
    old = time.time() - 3600
    os.utime(partial, (old, old))
    assert c.load("flow", key) is None
    report = cache_mod.info(tmp_path)
    assert report["partial_writes"] == 1 and report["entries"] == 0
    assert cache_mod.clear(tmp_path)["partial_writes"] == 1 and not partial.exists()


def test_a_write_interrupted_in_python_leaves_nothing(tmp_path, monkeypatch):
    c = Cache(tmp_path)

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        c.save("flow", "k" * 40, {"x": np.zeros(3)}, {})
    assert not any(p.is_file() for p in tmp_path.rglob("*") if ".locks" not in p.parts and p.name != cache_mod.KEY_FILE)


def _slow_compute(root: str, log: str, start: float) -> None:
    while time.time() < start:     # both workers ask at the same moment
        time.sleep(0.001)

    def compute():
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(0.4)
        return {"x": np.full(4, os.getpid(), dtype=np.int64)}, {}

    arrays, _ = Cache(root).get_or_compute("flow", {"shared": True}, compute)
    with open(log + ".result", "a") as fh:
        fh.write(f"{int(arrays['x'][0])}\n")


def test_parallel_workers_compute_a_shared_entry_once(tmp_path):
    ctx = mp.get_context("fork")
    log = str(tmp_path / "computed.log")
    start = time.time() + 0.3
    procs = [ctx.Process(target=_slow_compute, args=(str(tmp_path / "c"), log, start)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    computed = Path(log).read_text().split()
    results = Path(log + ".result").read_text().split()
    assert len(computed) == 1 and results == computed * 3  # one computed, the others read its entry


def _hold_lock(root: str, key: str, ready, release) -> None:
    c = Cache(root)
    with c._locked(key):
        ready.set()
        release.wait(20)


def test_nonblocking_mode_reports_busy_entries_and_map_comes_back_to_them(tmp_path):
    from harness.api import Sample
    from harness.preprocess.preprocessor import Preprocessor

    ctx = mp.get_context("fork")
    pp = Preprocessor(tmp_path)
    busy_key = pp.cache.key("flow", {"sample": "busy"})
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(pp.cache.root), busy_key, ready, release))
    holder.start()
    assert ready.wait(20)
    with pp.cache.nonblocking(), pytest.raises(CacheBusy):
        pp.cache.get_or_compute("flow", {"sample": "busy"}, compute_once([]))

    order: list[str] = []

    def fn(s):
        def compute():
            order.append(s.sample_id)
            if s.sample_id == "free":
                release.set()       # the other worker finishes meanwhile
                holder.join(20)
            return {"x": np.zeros(1)}, {}
        return pp.cache.get_or_compute("flow", {"sample": s.sample_id}, compute)[1]

    samples = [Sample(sid, "d", "s", 30.0, 1, 2, 3, (1, 2, 3), str(tmp_path), ("a", "b", "c"), sid)
               for sid in ("busy", "free")]
    batch = pp.map(samples, fn)
    assert order == ["free", "busy"]          # the busy one was put off, not waited for
    assert batch.sample_ids == ("busy", "free") and batch.positions == (0, 1)


def test_parse_age():
    assert parse_age("90s") == 90 and parse_age("30m") == 1800 and parse_age("7d") == 7 * 86400
    assert parse_age("2w") == 14 * 86400 and parse_age("1.5h") == 5400
    from harness.errors import BadInput

    with pytest.raises(BadInput, match="7d"):
        parse_age("seven days")


def fill(root: Path) -> Cache:
    c = Cache(root / "preprocess")
    for kind, n in (("flow", 3), ("track", 2)):
        for i in range(n):
            c.get_or_compute(kind, {"i": i}, compute_once([]))
    return c


def test_cli_info_and_clear(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    c = fill(tmp_path)
    assert main(["cache", "info", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["entries"] == 5 and report["kinds"]["flow"]["entries"] == 3 and report["bytes"] > 0
    assert report["location"] == str(tmp_path / "preprocess")
    assert main(["cache", "info"]) == 0
    text = capsys.readouterr().out
    assert "flow" in text and "track" in text and str(tmp_path) in text

    old = time.time() - 3 * 86400
    for p in (c.root / "flow").rglob("*.npz"):
        os.utime(p, (old, old))
    assert main(["cache", "clear", "--older-than", "2d", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == 3
    assert main(["cache", "clear", "--kind", "trak"]) == 2
    assert "did you mean 'track'" in capsys.readouterr().err
    assert main(["cache", "clear", "--kind", "track"]) == 0
    assert "removed 2 entries" in capsys.readouterr().out
    fill(tmp_path)
    assert main(["cache", "clear"]) == 0 and cache_mod.info(c.root)["entries"] == 0


def test_importing_the_package_stays_light():
    code = ("import sys, harness.preprocess as p; p.Preprocessor; p.FlowConfig('tvl1'); p.AU_REGIONS; "
            "heavy = [m for m in ('cv2', 'mediapipe', 'torch') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert out.stdout.strip() == "[]"
