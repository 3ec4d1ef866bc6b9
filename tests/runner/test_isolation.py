"""The pieces of fold isolation one by one: the data-only channel, result validation, deferred labels, the
cache's MACs and broker, opaque ids, names, and confinement without namespaces (the Landlock-only fallback)."""
from __future__ import annotations

import json
import os
import pickle
import socket
import struct
from pathlib import Path

import numpy as np
import pytest

from harness.api import LabelledSample
from harness.errors import BadInput
from harness.runner import channel
from harness.runner.results import FoldTask, build_results
from harness.runner.supervisor import Launch


# ----- the channel -------------------------------------------------------------------------------------------------
def _pipe_with(data: bytes) -> int:
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    return r


def test_the_channel_carries_data_and_refuses_anything_else():
    r, w = os.pipe()
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([True, False])}
    spec, payload = channel.pack_arrays(arrays)
    channel.send(w, {"op": "x", "spec": spec}, payload)
    header, data = channel.recv(r)
    back = channel.unpack_arrays(header["spec"], data)
    assert all(np.array_equal(back[k], arrays[k]) and back[k].dtype == arrays[k].dtype for k in arrays)
    with pytest.raises(TypeError):
        channel.pack_arrays({"o": np.array([object()])})
    with pytest.raises(channel.ProtocolError):
        channel.unpack_arrays([["o", "|O", [1]]], b"\0" * 8)          # object arrays would unpickle
    with pytest.raises(channel.ProtocolError):
        channel.unpack_arrays([["a", "<f4", [4]]], b"\0" * 8)         # runs past the payload
    with pytest.raises(channel.ProtocolError):
        channel.unpack_arrays([["a", "<f4", [1]]], b"\0" * 8)         # bytes nothing describes
    for raw in (struct.pack("!II", 1 << 30, 0), struct.pack("!II", 3, 0) + b"nan", struct.pack("!II", 2, 0) + b"[]",
                struct.pack("!II", 8, 0) + b'{"a": 1}'):
        with pytest.raises(channel.ProtocolError):
            channel.recv(_pipe_with(raw))
    with pytest.raises(EOFError):
        channel.recv(_pipe_with(b""))


# ----- results -----------------------------------------------------------------------------------------------------
def _task(tmp_path: Path) -> FoldTask:
    launch = Launch(job=None, labels={}, work_dir="", frames_root="", bundle_dir="", data_roots=[], private=[],
                    cache_root="", namespace="0" * 32, knowledge="0" * 32)
    return FoldTask(launch, 0, ["f"], {"f": ["sa", "sb"]}, {"sa": "uid-a", "sb": "uid-b"}, ("x", "y", "z"),
                    tmp_path / "f.log")


GOOD = {"fold": "f", "ids": ["sb", "sa"], "pred": [2, 0], "proba": [[0, 0, 2], [1, 0, 0]],
        "records": {"n": 1, "sandbox": "forged"}, "error": None}
ISOLATION = {"landlock": "landlock ABI 7 (filesystem)"}
DONE = {"op": "done", "exit": 0, "survivors": 0, "wall_s": 1.5}


def test_a_valid_result_is_mapped_back_to_release_ids(tmp_path):
    (r,) = build_results(_task(tmp_path), ISOLATION, {"results": [GOOD]}, DONE)
    assert r.error is None and r.sample_ids == ["uid-b", "uid-a"] and r.pred.tolist() == [2, 0]
    assert r.proba.tolist() == [[0, 0, 1], [1, 0, 0]] and r.wall_s == 1.5
    assert r.records["sandbox"] == ISOLATION["landlock"] and r.records["n"] == 1
    assert r.records["isolation"]["bundle_records_dropped"] == ["sandbox"]


@pytest.mark.parametrize("change", [
    {"ids": ["sa", "sa"]}, {"ids": ["sa"]}, {"ids": ["sa", "sc"]}, {"pred": [3, 0]}, {"pred": [True, 0]},
    {"pred": [1.0, 0]}, {"proba": [[0, 0, float("nan")], [1, 0, 0]]}, {"proba": [[0, 0, -1], [1, 0, 0]]},
    {"proba": [[0, 1], [1, 0]]}, {"fold": "other"}, {"records": "text"}, {"records": {"big": "x" * (2 << 20)}},
])
def test_an_invalid_result_fails_the_fold(tmp_path, change):
    (r,) = build_results(_task(tmp_path), ISOLATION, {"results": [{**GOOD, **change}]}, DONE)
    assert r.error and ("invalid" in r.error), r.error


def test_a_fold_without_isolation_report_or_with_survivors_fails(tmp_path):
    assert "before it was isolated" in build_results(_task(tmp_path), None, {"results": [GOOD]}, DONE)[0].error
    assert "survived" in build_results(_task(tmp_path), ISOLATION, {"results": [GOOD]},
                                       {**DONE, "survivors": 2})[0].error
    assert "without returning a result" in build_results(_task(tmp_path), ISOLATION, None, DONE)[0].error


def test_printed_failure_text_has_no_control_characters(tmp_path):
    bad = {**GOOD, "error": "ValueError: \x1b[2J\u202eboom\nTraceback ..."}
    (r,) = build_results(_task(tmp_path), ISOLATION, {"results": [bad]}, DONE)
    assert "\x1b" not in r.error and "\u202e" not in r.error and "ValueError: [2Jboom\nTraceback" in r.error


# ----- deferred labels ---------------------------------------------------------------------------------------------
def _samples(n: int = 3) -> list[LabelledSample]:
    return [LabelledSample(f"s{i}", "d", "sub", 30.0, 0, 1, 2, (0, 1, 2), "/f", ("0.jpg",), f"k{i}", label="neg",
                           label_index=i % 2, emotion="sad", aus="4") for i in range(n)]


def test_training_labels_arrive_on_first_read_only():
    from harness.api import TrainSet
    from harness.runner.labels import LabelSource, label_table, strip_labels, with_deferred_labels

    given = _samples()
    calls = []
    source = LabelSource(lambda: calls.append(1) or label_table(given))
    train = TrainSet(with_deferred_labels(strip_labels(given), source), ("neg", "pos"))
    assert [s.sample_id for s in train] == ["s0", "s1", "s2"] and train[0].frame_files == ("0.jpg",)
    assert train.subjects.tolist() == ["d/sub"] * 3 and not calls and not source.delivered
    assert "neg" not in json.dumps([vars(s) for s in strip_labels(given)], default=str)
    assert train.labels.tolist() == [0, 1, 0] and train[1].emotion == "sad" and calls == [1]
    assert train[2].label == "neg" and calls == [1]                     # one request for the whole set
    copy = pickle.loads(pickle.dumps(train[1]))
    assert type(copy) is LabelledSample and copy == given[1]


# ----- the cache: MACs and the broker ----------------------------------------------------------------------------
def _entry(c, kind="flow", identity=None):
    return c.get_or_compute(kind, identity or {"f": 1}, lambda: ({"x": np.arange(4.0)}, {"n": 1}))


def test_an_entry_not_written_by_the_harness_is_rejected_and_recomputed(tmp_path):
    from harness.preprocess.cache import Cache, decode_entry, encode_entry

    c = Cache(tmp_path / "c")
    _entry(c)
    path = c.entry_path("flow", c.key("flow", {"f": 1}))
    arrays, meta = decode_entry(path.read_bytes())
    arrays["x"] = np.zeros(4)  # poisoned, key and MAC kept
    path.write_bytes(encode_entry(arrays, meta))
    fresh = Cache(tmp_path / "c")
    assert fresh.load("flow", fresh.key("flow", {"f": 1})) is None and fresh.rejected == 1
    other = Cache(tmp_path / "other")  # a copy from another cache (another key) is not trusted either
    other_path = other.entry_path("flow", other.key("flow", {"f": 1}))
    _entry(c)
    other_path.parent.mkdir(parents=True)
    other_path.write_bytes(path.read_bytes())
    assert other.load("flow", other.key("flow", {"f": 1})) is None and other.rejected == 1


def test_the_broker_writes_for_everyone_before_labels_and_only_for_the_same_knowledge_after(tmp_path):
    from harness.runner.broker import Broker

    root = str(tmp_path / "preprocess")
    b = Broker(root, "a" * 32, "1" * 32, samples={})
    spec, payload = channel.pack_arrays({"v": np.ones(3)})

    def put(broker, key):
        return broker.handle({"op": "put", "kind": "features", "key": key, "meta": {}, "arrays": spec}, payload)[0]

    def hit(broker, key, space="bundle"):
        return broker.handle({"op": "get", "space": space, "kind": "features", "key": key}, b"")[0]["hit"]

    assert put(b, "0" * 40)["ok"]
    got, data = b.handle({"op": "get", "space": "bundle", "kind": "features", "key": "0" * 40}, b"")
    assert channel.unpack_arrays(got["arrays"], data)["v"].tolist() == [1, 1, 1]
    assert not hit(b, "0" * 40, "harness")                             # a bundle's entry is not the harness's
    for bad in ({"kind": "../../etc", "key": "0" * 40}, {"kind": "features", "key": "../x"},
                {"kind": "ok", "key": "0" * 40, "space": "elsewhere"}):
        assert not b.handle({"op": "get", **bad}, b"")[0].get("hit")
    assert not b.handle({"op": "compute", "method": "__init__", "sample": "s", "args": [], "kwargs": {}}, b"")[0]["ok"]
    b.label_free = False                                               # the fold has its labels now
    assert put(b, "1" * 40)["ok"] and hit(b, "1" * 40)
    same, other, team = Broker(root, "a" * 32, "1" * 32, {}), Broker(root, "a" * 32, "2" * 32, {}), \
        Broker(root, "b" * 32, "1" * 32, {})
    assert hit(same, "1" * 40) and not hit(other, "1" * 40) and not hit(team, "0" * 40)
    assert hit(other, "0" * 40)                                        # what was written before labels: everyone


def test_brokered_arguments_are_plain_values_and_preprocessing_configs():
    from harness.preprocess.config import FaceConfig, FlowConfig, SpotConfig
    from harness.runner.foldcache import Unencodable, decode, encode

    args = [SpotConfig(face=FaceConfig(size=64), flow=FlowConfig("dis", params={"preset": "fast"})), [1, 2], 0.5]
    assert decode(json.loads(json.dumps(encode(args)))) == [args[0], [1, 2], 0.5]
    with pytest.raises(Unencodable):
        encode(np.zeros(2))
    with pytest.raises(ValueError):
        decode({"__config__": "Popen", "fields": {}})
    with pytest.raises(BadInput):  # configs validate themselves when rebuilt
        decode({"__config__": "FaceConfig", "fields": {"size": 10 ** 6}})


# ----- opaque ids and names ----------------------------------------------------------------------------------------
def test_opaque_ids_are_stable_per_secret_and_say_nothing():
    from harness.runner.opaque import opaque_ids

    uids = ["smic/s1_ne_01", "smic/s1_po_01", "casme2/sub01/EP02_01f"]
    a, b, other = opaque_ids(uids, b"k" * 32), opaque_ids(uids, b"k" * 32), opaque_ids(uids, b"j" * 32)
    assert a == b and set(a.values()).isdisjoint(other.values()) and len(set(a.values())) == 3
    assert not any(part in v for v in a.values() for part in ("ne", "po", "sub", "smic"))


@pytest.mark.parametrize("name, ok", [("Team Rocket", True), ("Équipe ß-1 (2024)", True), ("", False), (" x", False),
                                       ("x" * 64, True), ("x" * 65, False), ("a\u202eb", False), ("a\u2069b", False),
                                       ("a\u200eb", False), ("a\tb", False), ("\x1b[0m", False), ("a\u2028b", False)])
def test_names(name, ok):
    from harness.names import check_name, shown_name

    if ok:
        assert check_name(name, "team") == name and shown_name(name) == name
    else:
        with pytest.raises(BadInput):
            check_name(name, "team")
        assert all(c not in shown_name(name) for c in "\u202e\u2069\u200e\x1b\t\u2028") and len(shown_name(name)) <= 64


# ----- confinement without namespaces ------------------------------------------------------------------------------
def test_without_namespaces_landlock_still_blocks_and_the_gaps_are_recorded(tmp_path):
    """The fallback where a kernel or container allows no namespaces: files stay blocked by Landlock, and the
    provenance names what did not hold (which the boards then mark)."""
    from harness.runner.isolation import confine
    from harness.evaluate.provenance import guarantees_not_held
    from harness.runner.sandbox import abi_version, plan_for_fold

    if abi_version() <= 0:
        pytest.skip("Landlock is not available on this kernel")
    data, work, frames = tmp_path / "data", tmp_path / "work", tmp_path / "frames"
    for d in (data, work, frames):
        d.mkdir()
    (data / "labels.xlsx").write_text("secret")
    outside = socket.socket(socket.AF_UNIX)  # a process outside the fold, on an abstract address
    outside.bind(f"\0harness-test-{os.getpid()}")
    outside.listen(1)
    parent = os.getpid()
    ours, theirs = socket.socketpair()
    log = os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT)
    pid = os.fork()
    if pid == 0:
        try:
            ours.close()
            plan = plan_for_fold(str(work), str(frames), str(tmp_path / "bundle"), [str(data)])
            facts, moved = confine(plan, {theirs.fileno()}, log, str(work), str(frames), namespaces=False)
            probes = (("read", lambda: open(data / "labels.xlsx").read()),
                      ("abstract", lambda: socket.socket(socket.AF_UNIX).connect(f"\0harness-test-{parent}")),
                      ("signal", lambda: os.kill(parent, 0)))
            for probe, attempt in probes:
                try:
                    attempt()
                    facts[probe] = "ok"
                except OSError as exc:
                    facts[probe] = exc.strerror
            theirs.sendall(json.dumps({"facts": facts, "moved": moved}).encode())
        finally:
            os._exit(0)
    theirs.close()
    os.close(log)
    got = json.loads(ours.makefile().read())
    os.waitpid(pid, 0)
    outside.close()
    facts = got["facts"]
    assert facts["read"] != "ok" and facts["landlock"].startswith("landlock") and got["moved"] == {}
    if abi_version() >= 6:  # scoped: no signal to, no abstract socket of, a process outside the fold
        assert facts["abstract"] != "ok" and facts["signal"] != "ok", facts
    not_held = guarantees_not_held({"sandbox": "on", "fold_records": {"0": {"f": {"isolation": facts}}}})
    assert not_held == ["no private network, IPC, /proc and /dev/shm (namespaces unavailable)",
                        "no private root (paths outside the fold, named sockets included, can be reached by name)",
                        "no PID namespace (processes killed by the supervisor's sweep)"], not_held
