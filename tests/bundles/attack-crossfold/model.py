"""Attack: carry labels from one fold to another.

In LOSO every subject is a training subject of all folds but its own, so a fold that can leave its training
labels anywhere a later fold can read them gets every later fold's test labels. Three carriers:
- `cache`: a file in the preprocessing cache folder (writable by design, shared by all folds);
- `shm`: a file in /dev/shm (tmpfs, shared by every process on the machine);
- `daemon`: a process started by the first fold that outlives it and serves what it was told on an abstract
  Unix socket (no file at all).
Without loot the fold predicts class 0 for every sample.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

ADDRESS = "\0harness-attack-crossfold"


def _stash_files(context, channel: str) -> list[Path]:
    if channel == "cache":
        return [Path(context.cache_dir) / "attack-stash.json"]
    return [Path("/dev/shm") / "harness-attack-stash.json"]


def _read_files(paths) -> dict[str, int]:
    loot = {}
    for p in paths:
        try:
            loot.update(json.loads(p.read_text()))
        except (OSError, ValueError):
            pass
    return loot


def _write_files(paths, labels: dict[str, int]) -> list[str]:
    errors = []
    for p in paths:
        try:
            old = _read_files([p])
            p.write_text(json.dumps({**old, **labels}))
        except OSError as exc:
            errors.append(f"{p}: {exc.strerror}")
    return errors


def _ask_daemon(message: dict) -> dict | None:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    try:
        s.connect(ADDRESS)
        s.sendall(json.dumps(message).encode() + b"\n")
        return json.loads(s.makefile().readline() or "null")
    except (OSError, ValueError):
        return None
    finally:
        s.close()


def _serve_forever() -> None:
    known: dict[str, int] = {}
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(ADDRESS)
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        with conn:
            msg = json.loads(conn.makefile().readline() or "{}")
            known.update(msg.get("labels", {}))
            conn.sendall(json.dumps(known).encode() + b"\n")
        if msg.get("quit"):
            return


def _start_daemon() -> None:
    if os.fork() == 0:  # double fork: the daemon is nobody's child, in its own session
        os.setsid()
        if os.fork() == 0:
            try:
                _serve_forever()
            finally:
                os._exit(0)
        os._exit(0)
    os.wait()


class CrossFoldAttack:
    def __init__(self, channel: str = "cache") -> None:
        self.channel = channel
        self.loot: dict[str, int] = {}

    def fit(self, train, context) -> None:
        mine = {s.sample_id: int(s.label_index) for s in train}
        if self.channel == "daemon":
            got = _ask_daemon({"labels": mine})
            if got is None:
                _start_daemon()
                import time

                for _ in range(50):
                    got = _ask_daemon({"labels": mine})
                    if got is not None:
                        break
                    time.sleep(0.05)
            self.loot = {k: v for k, v in (got or {}).items() if k not in mine}
            context.record("daemon_reached", got is not None)
        else:
            paths = _stash_files(context, self.channel)
            self.loot = {k: v for k, v in _read_files(paths).items() if k not in mine}
            context.record("stash_errors", _write_files(paths, mine))

    def predict(self, test, context):
        context.record("leaked", sum(s.sample_id in self.loot for s in test))
        return [self.loot.get(s.sample_id, 0) for s in test]
