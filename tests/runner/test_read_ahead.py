"""Read-ahead (harness/runner/readahead.py): a lone fold's supervisor computes a map's preprocessing for the samples
the fold has not reached yet. What it must keep: the same entries as one-at-a-time preprocessing, bit for bit;
no sample computed twice; entries written where the fold's knowledge allowed when it asked (never the shared
cache once it has its labels); only settings-only calls on the fold's own samples."""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

import numpy as np
import pytest

from harness.preprocess.config import FaceConfig
from harness.runner.broker import Broker
from tests.fold_link import fold_over_broker

pytestmark = pytest.mark.mediapipe
DFME_SUBJECTS = 8  # enough training clips (> readahead.MIN_SAMPLES) for a phase fold to read ahead
ALL = [f"s{i}" for i in range(6)]  # the ids of the `clips` fixture
FACE = FaceConfig(size=64, margin=0.2)  # not the default: a helper that dropped the settings would miss


@pytest.fixture(autouse=True)
def few_samples_are_enough(monkeypatch):
    """The tests' maps are short; a real one must be `MIN_SAMPLES` long to be worth a helper's start-up."""
    from harness.runner import readahead

    monkeypatch.setattr(readahead, "MIN_SAMPLES", 2)
    monkeypatch.setattr(readahead, "PER_HELPER", 1)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    from harness.preprocess.testing import make_clip

    root = tmp_path_factory.mktemp("clips")
    return [make_clip(root / f"c{i}", n_frames=6, apex_position=3, sample_id=f"s{i}",
                      amplitude=1.0 + 0.2 * i).sample
            for i in range(6)]


def _fold(tmp_path: Path, clips, threads: int):
    return fold_over_broker(tmp_path / "cache" / "preprocess", tmp_path / "scratch", clips, threads)


def _count_alignments(monkeypatch) -> dict[str, int]:
    """How often each sample's frames were aligned (the expensive step) in this process: by the fold's own
    requests (the helpers are other processes, and report what they computed)."""
    from harness.preprocess.preprocessor import Preprocessor

    counts: dict[str, int] = {}
    original = Preprocessor._stabilise_frames

    def counted(self, sample, *args, **kwargs):
        counts[sample.sample_id] = counts.get(sample.sample_id, 0) + 1
        return original(self, sample, *args, **kwargs)

    monkeypatch.setattr(Preprocessor, "_stabilise_frames", counted)
    return counts


def test_read_ahead_gives_the_serial_clips_bit_for_bit_and_aligns_each_sample_once(tmp_path, clips, monkeypatch):
    from harness.preprocess.preprocessor import Preprocessor

    serial = [Preprocessor(tmp_path / "serial").aligned_clip(s, FACE) for s in clips]
    counts = _count_alignments(monkeypatch)
    broker, pre = _fold(tmp_path, clips, threads=2)

    def one(sample):
        if sample.sample_id == "s1":  # let the helper get ahead before the fold goes on (else it may not, here)
            deadline = time.monotonic() + 60
            while broker.ahead is not None and broker.ahead.computed < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
        return pre.aligned_clip(sample, FACE)

    batch = pre.map(clips, one)
    broker.close()
    helped = broker.stats["read_ahead_computed"]
    assert broker.stats["read_ahead"] == 1 and helped >= 2
    assert batch.sample_ids == tuple(s.sample_id for s in clips)
    for got, want in zip(batch.values, serial):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    # the fold and the helper met: every sample aligned once, by one of them
    assert set(counts.values()) == {1} and len(counts) + helped == len(clips)
    assert broker.helper_timings["align"]["calls"] > 0  # the helper's stage clock reaches the fold's report


def test_a_helper_that_dies_costs_nothing_but_its_help(tmp_path, clips):
    """Killed (out of memory, a signal): the fold's own requests compute what it did not, with the same result."""
    import os
    import signal

    from harness.preprocess.preprocessor import Preprocessor

    broker, pre = _fold(tmp_path, clips, threads=2)

    def one(sample):
        if broker.ahead is not None:
            for pid in broker.ahead.pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        return pre.aligned_clip(sample, FACE)

    batch = pre.map(clips, one)
    broker.close()
    serial = Preprocessor(tmp_path / "serial")
    assert batch.sample_ids == tuple(s.sample_id for s in clips) and broker.stats["read_ahead"] == 1
    assert all(np.array_equal(got, serial.aligned_clip(s, FACE)) for got, s in zip(batch.values, clips))


def test_one_thread_means_no_read_ahead(tmp_path, clips):
    broker, pre = _fold(tmp_path, clips[:2], threads=1)
    pre.map(clips[:2], lambda s: pre.face(s, FACE))
    assert broker.stats["read_ahead"] == 0 and broker.ahead is None and broker.stats["computed"] == 2


def test_a_clip_a_helper_cannot_read_is_counted_and_left_to_the_fold(tmp_path):
    """A damaged frame makes the helper's call fail; the count says so and nothing is cached for that clip (the
    fold's own request then meets the error and reports it, as without read-ahead)."""
    from harness.preprocess.testing import make_clip

    clips = [make_clip(tmp_path / f"c{i}", n_frames=6, apex_position=3, sample_id=f"d{i}",
                       amplitude=1.0 + 0.2 * i).sample for i in range(3)]
    damaged = Path(clips[1].frames_dir) / clips[1].frame_files[2]
    damaged.write_bytes(b"not an image")
    root = tmp_path / "cache" / "preprocess"
    broker = Broker(str(root), "a" * 32, "1" * 32, {s.sample_id: s for s in clips}, threads=2)
    assert _read_ahead(broker, [{"method": "track", "args": [_face_call()["args"][0]], "kwargs": {}}],
                       ["d0", "d1", "d2"])["ok"]
    deadline = time.monotonic() + 60
    while broker.ahead.running and time.monotonic() < deadline:
        time.sleep(0.01)
    broker.close()
    assert broker.stats["read_ahead_failed"] == 1 and broker.stats["read_ahead_computed"] == 2
    assert len(list((root / "track").glob("*/*.npz"))) == 2


def _read_ahead(broker: Broker, calls, samples) -> dict:
    return broker.handle({"op": "read_ahead", "calls": calls, "samples": samples}, b"")[0]


def _face_call():
    from harness.runner.foldcache import encode

    return {"method": "face", "args": [encode(FACE)], "kwargs": {}}


def test_after_the_labels_read_ahead_writes_only_into_the_folds_scope(tmp_path, clips):
    """Like its `compute` requests: what a fold asks for once it knows labels reaches only folds that knew them."""
    from harness.preprocess.cache import Cache

    root = tmp_path / "cache" / "preprocess"
    broker = Broker(str(root), "a" * 32, "1" * 32, {s.sample_id: s for s in clips}, threads=2)
    broker.label_free = False
    assert _read_ahead(broker, [_face_call()], ["s0", "s1"])["ok"]
    deadline = time.monotonic() + 60
    while broker.ahead.running and time.monotonic() < deadline:
        time.sleep(0.01)
    broker.close()
    assert broker.stats["read_ahead_computed"] == 2
    shared = Cache(root)
    assert not list((root / "face").glob("*/*.npz"))                  # nothing where every fold reads
    assert len(list((root / "scoped" / ("1" * 32) / "face").glob("*/*.npz"))) == 2
    other = Broker(str(root), "a" * 32, "2" * 32, {}).scoped["harness"]  # a fold that knew other labels
    keys = [p.stem for p in (root / "scoped" / ("1" * 32) / "face").glob("*/*.npz")]
    assert all(other.load("face", k) is None and shared.load("face", k) is None for k in keys)


@pytest.mark.parametrize("calls, samples, why", [
    ([{"method": "flow", "args": [0, 3], "kwargs": {}}], ALL, "frame numbers are one sample's"),
    ([{"method": "__init__", "args": [], "kwargs": {}}], ALL, "not a preprocessing call"),
    ([{"method": "landmarks", "args": [2], "kwargs": {}}], ALL, "a frame number again"),
    (None, ALL, "no calls"),
    ([], ALL, "no calls"),
    ([_face_call()] * 9, ALL, "too many calls"),
    ([_face_call()], [*ALL, "someone-else"], "not the fold's sample"),
    ([_face_call()], "s0", "not a list"),
    ([{"method": "face", "args": [{"__config__": "Popen", "fields": {}}], "kwargs": {}}], ALL, "not a config"),
])
def test_read_ahead_takes_only_settings_only_calls_on_the_folds_own_samples(tmp_path, clips, calls, samples, why):
    broker = Broker(str(tmp_path / "preprocess"), "a" * 32, "1" * 32, {s.sample_id: s for s in clips}, threads=2)
    reply = _read_ahead(broker, calls, samples)
    assert not reply["ok"] and broker.ahead is None, why
    assert not (tmp_path / "preprocess" / "face").exists()


def test_a_fold_with_one_core_is_not_read_ahead_for(tmp_path, clips):
    broker = Broker(str(tmp_path / "preprocess"), "a" * 32, "1" * 32, {s.sample_id: s for s in clips}, threads=1)
    assert not _read_ahead(broker, [_face_call()], ALL)["ok"] and broker.ahead is None


def test_the_same_request_well_formed_is_taken(tmp_path, clips):
    """The refusals above are for their own defect: the request they spoil is accepted as it stands."""
    broker = Broker(str(tmp_path / "preprocess"), "a" * 32, "1" * 32, {s.sample_id: s for s in clips}, threads=2)
    assert _read_ahead(broker, [_face_call()], ALL)["ok"] and broker.ahead is not None
    broker.close()


# --- under the real runner: a DFME phase's lone fold, sandboxed, its supervisor and helpers in their processes ----
@pytest.fixture(scope="module")
def dfme(tmp_path_factory):
    from harness.synth.writer import generate

    root = tmp_path_factory.mktemp("dfme")
    generate(root, "dfme", seed=0, subjects=DFME_SUBJECTS, progress=False, workers=1)
    return root


def _run(data_root, cores: int, monkeypatch, home):
    import os
    import shutil

    from harness.store.db import open_store
    from tests.fixtures.runs import submit

    shutil.rmtree(home / "cache" / "preprocess", ignore_errors=True)  # cold, as the first run of a phase
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    out = submit("bi-woof", "ccac2024-dfme", "test_A", data_root=data_root, host=True, rerun=True)
    with open_store() as store:
        sub = store.get_submission(out.submission_id)
        run = store.runs(sub.id)[0]["id"]
        (record,) = sub.provenance["fold_records"]["0"].values()
        return sub.provenance["threads_per_fold"], record["isolation"]["cache"], store.predictions(run)


def test_a_phase_fold_reads_ahead_under_the_runner_and_predicts_as_without(dfme, monkeypatch, harness_home):
    threads, alone, predicted_alone = _run(dfme, 1, monkeypatch, harness_home)
    assert threads == 1 and alone["read_ahead"] == 0
    threads, helped, predicted_helped = _run(dfme, 2, monkeypatch, harness_home)
    assert threads == 2 and helped["read_ahead"] >= 1 and helped["read_ahead_computed"] > 0, helped
    assert predicted_helped == predicted_alone
    assert helped["timings"]["flow"]["calls"] >= alone["timings"]["flow"]["calls"]  # the helpers' clocks count too
