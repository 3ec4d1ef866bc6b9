"""`harness.fsutil.secret_bytes`: the cache's MAC key and the sample-id key, created on first use by whichever
process gets there first. Two fold supervisors start at once on an empty cache (every cold run with
`--workers 2`): the one that does not create the key must read the whole key, never a file still being written."""
from __future__ import annotations

import multiprocessing as mp
import stat
import threading

import pytest

from harness.fsutil import secret_bytes


def test_a_process_arriving_while_the_key_is_made_reads_the_whole_key(tmp_path, monkeypatch):
    """The creator is held after it started making the key, before it wrote a byte; a second caller meanwhile
    must get a full key, and the creator then the same one."""
    import secrets

    path = tmp_path / "cache" / ".mac-key"
    inside, second_done = threading.Event(), threading.Event()
    real = secrets.token_bytes
    creator = {}

    def held(n):
        if threading.current_thread() is creator["thread"]:
            inside.set()
            second_done.wait(10)
        return real(n)

    monkeypatch.setattr(secrets, "token_bytes", held)
    got = {}
    creator["thread"] = threading.Thread(target=lambda: got.setdefault("first", secret_bytes(path)))
    creator["thread"].start()
    assert inside.wait(10)
    try:
        got["second"] = secret_bytes(path)
    finally:
        second_done.set()
        creator["thread"].join(10)
    assert len(got["second"]) == 32 and got["first"] == got["second"] == path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [".mac-key"]  # no temporary file left


def _race(path: str, barrier, out) -> None:
    barrier.wait(10)
    try:
        out.put(secret_bytes(path).hex())
    except Exception as exc:  # noqa: BLE001 - the test reports it
        out.put(f"error: {exc}")


def test_processes_racing_for_a_new_key_all_get_the_same_one(tmp_path):
    ctx = mp.get_context("fork")
    for attempt in range(5):
        path = str(tmp_path / f"try{attempt}" / ".mac-key")
        barrier, out = ctx.Barrier(6), ctx.Queue()
        procs = [ctx.Process(target=_race, args=(path, barrier, out)) for _ in range(6)]
        for p in procs:
            p.start()
        keys = [out.get(timeout=30) for _ in procs]
        for p in procs:
            p.join(10)
        assert len(set(keys)) == 1 and not keys[0].startswith("error"), keys


def test_a_damaged_key_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / ".mac-key"
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="not a 32-byte secret; delete it"):
        secret_bytes(path)
