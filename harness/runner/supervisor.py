"""A fold's supervisor: the trusted process between the harness and the fold's bundle process.

Forked from the zygote for one fold, it forks the fold's processes first (so that nothing it reads afterwards,
labels included, is in their memory): an init that makes the fold's PID namespace and forks the bundle process
into it. Then it:
- hands it its sandbox plan and its job (labels withheld) and relays its progress and result to the harness as
  data; the bundle's stdout/stderr go to the fold's log, capped;
- answers its cache requests (broker.py) and, on its first read of a label, hands over the training labels and
  stops serving shared writes;
- when the fold ends, kills every process the fold started (the fold's PID namespace, or its process group
  plus every orphan re-parented to this process, a child subreaper), checks that none survived, and reports
  that to the harness.
Nothing the bundle process sends is unpickled; the harness validates the result again on its side.
"""
from __future__ import annotations

import ctypes
import os
import selectors
import signal
import socket
import time
from dataclasses import dataclass
from typing import Any

from harness.runner import channel

_PR_SET_CHILD_SUBREAPER = 36
GRACE_S = 5.0            # after its result, the bundle process has this long to exit on its own


@dataclass
class Launch:
    """What the harness sends a fold's supervisor (trusted direction, pickled)."""

    job: Any                                 # worker.FoldJob | worker.BatchedJob, without labels
    labels: dict[str, tuple]                 # sample id -> (label, label_index, emotion, aus)
    work_dir: str
    frames_root: str
    bundle_dir: str
    data_roots: list[str]
    private: list[str]                       # the harness's own folders a fold never sees (home, cache)
    cache_root: str                          # the shared preprocessing cache (<cache>/preprocess)
    namespace: str                           # the bundle's own cache namespace
    knowledge: str                           # names the labels the fold may read (its cache scope after them)
    device: str = "cpu"
    sandbox: bool = True
    log_limit: int = 16 << 20


def child_subreaper() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def process_table() -> dict[int, int]:
    """pid -> parent pid of every process this one can see."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = open(f"/proc/{name}/stat").read()
                table[int(name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return table


def descendants(pid: int, table: dict[int, int] | None = None) -> set[int]:
    table = process_table() if table is None else table
    children: dict[int, list[int]] = {}
    for p, pp in table.items():
        children.setdefault(pp, []).append(p)
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


_STATUS: dict[int, int] = {}   # wait status of every child reaped here


def reap() -> list[int]:
    """Collect every child that has ended (zombies would otherwise look alive); returns their pids."""
    ended = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        _STATUS[pid] = status
        ended.append(pid)


def started_by_bundle(init: int) -> set[int]:
    """The processes the fold's bundle process started that are still there (besides the fold's init and the
    bundle process itself), wherever they have been re-parented to."""
    table = process_table()
    tree = descendants(os.getpid(), table)
    return tree - {init} - {p for p in tree if table.get(p) == init}


def kill_fold(root: int) -> int:
    """SIGKILL the bundle process, its process group and every process it started, including orphans that
    were re-parented to this process (a child subreaper), until none is left; returns how many processes other
    than the bundle process itself were still there."""
    me, seen = os.getpid(), set()
    for _ in range(200):
        try:
            os.killpg(root, signal.SIGKILL)
        except OSError:
            pass
        reap()
        alive = descendants(me)
        if not alive:
            break
        for p in alive:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        seen |= alive
        time.sleep(0.005)
    reap()
    return len(seen - {root})


class _Log:
    """The fold's log file, written up to `limit` bytes."""

    def __init__(self, fd: int, limit: int):
        self.fd, self.left = fd, limit

    def write(self, data: bytes) -> None:
        if self.left <= 0:
            return
        chunk = data[: self.left]
        self.left -= len(chunk)
        if self.left <= 0:
            chunk += b"\n[log truncated by the harness]\n"
        try:
            os.write(self.fd, chunk)
        except OSError:
            self.left = 0


def main(job_r: int, out_w: int, log_fd: int, flags: dict) -> int:
    """Run one fold (entry point in the zygote's child); returns the exit code."""
    from harness.runner.isolation import die_with_parent

    die_with_parent()
    child_subreaper()
    sup, bundle_end = socket.socketpair()
    log_r, log_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        sup.close()
        for fd in (job_r, out_w, log_fd, log_r):
            os.close(fd)
        _fold_init(bundle_end, log_w, bool(flags.get("sandbox")))  # never returns
    bundle_end.close()
    os.close(log_w)
    try:
        return _supervise(pid, sup.fileno(), job_r, out_w, _Log(log_fd, int(flags.get("log_limit", 16 << 20))),
                          log_r)
    except Exception as exc:  # a harness bug: say what it was, in the fold's result
        import traceback

        kill_fold(pid)
        channel.send(out_w, {"op": "done", "exit": None, "supervisor_error": "".join(
            traceback.format_exception(exc, limit=8))[-4000:]})
        return 1
    finally:
        kill_fold(pid)


def _fold_init(bundle_end: socket.socket, log_w: int, sandbox: bool) -> None:
    """The fold's first process: it makes the fold's PID namespace (where allowed) and forks the bundle process
    into it as its init, then waits for it and exits with its status. (The supervisor cannot make the namespace
    itself: a process that has made one can no longer start threads, and the supervisor's preprocessing does.)"""
    from harness.runner.isolation import die_with_parent, new_pid_namespace
    from harness.runner.worker import bundle_main

    die_with_parent()
    pid_namespace = new_pid_namespace() if sandbox else "no (no sandbox)"
    child = os.fork()
    if child == 0:
        bundle_main(bundle_end.detach(), log_w, {"pid_namespace": pid_namespace})  # never returns
    bundle_end.close()
    os.close(log_w)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


def _supervise(pid: int, fd: int, job_r: int, out_w: int, log: _Log, log_r: int) -> int:
    from harness.runner.broker import Broker
    from harness.runner.sandbox import plan_for_fold

    launch: Launch = channel.recv_pickle(job_r, "launch")
    os.close(job_r)
    t0 = time.monotonic()
    plan = plan_for_fold(launch.work_dir, launch.frames_root, launch.bundle_dir, launch.data_roots,
                         launch.device, launch.private) if launch.sandbox else None
    channel.send_pickle(fd, "plan", {"sandbox": plan, "work_dir": launch.work_dir, "frames_root": launch.frames_root,
                                     "namespaces": launch.sandbox})
    samples = {s.sample_id: s for s in launch.job.samples}
    broker = Broker(launch.cache_root, launch.namespace, launch.knowledge, samples,
                    int(launch.job.context.get("threads", 1)))
    state: dict[str, Any] = {"isolated": False, "result": False, "pid": pid}
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ, "bundle")
    sel.register(log_r, selectors.EVENT_READ, "log")
    deadline = None
    while sel.get_map():
        if deadline is not None and time.monotonic() > deadline:
            break
        for key, _ in sel.select(timeout=0.5):
            if key.data == "log":
                data = os.read(log_r, 1 << 16)
                if data:
                    log.write(data)
                else:
                    sel.unregister(log_r)
                continue
            try:
                header, payload = channel.recv(fd, max_payload=512 << 20)
                if _handle(header, payload, fd, out_w, launch, broker, state):
                    deadline = time.monotonic() + GRACE_S  # the result is in: drain, then end the fold
            except (EOFError, OSError, channel.ProtocolError) as exc:
                sel.unregister(fd)
                if not isinstance(exc, EOFError):
                    state["protocol_error"] = f"{type(exc).__name__}: {exc}"[:300]
        if fd not in sel.get_map() and deadline is None:
            deadline = time.monotonic() + GRACE_S  # the bundle process hung up: collect its last output
        if deadline is not None and _exited(pid):
            break
    end = time.monotonic() + GRACE_S
    while not _exited(pid) and time.monotonic() < end:
        time.sleep(0.01)
    _drain(log_r, log)
    left = len(started_by_bundle(pid))
    kill_fold(pid)
    broker.close()
    from harness.preprocess.timing import CLOCK, merge

    report = {"op": "done", "exit": _exit_status(pid), "processes_left_at_end": left,
              "processes_alive_at_result": state.get("alive_at_result", 0),
              "survivors": len(descendants(os.getpid())), "wall_s": round(time.monotonic() - t0, 3),
              "cache": {**broker.stats, "timings": merge(CLOCK.report(), broker.helper_timings)},
              "labels_fetched": not broker.label_free,
              **{k: state[k] for k in ("protocol_error",) if k in state}}
    channel.send(out_w, report)
    os.close(out_w)
    return 0


def _handle(header: dict, payload: bytes, fd: int, out_w: int, launch: Launch, broker, state: dict) -> bool:
    """Act on one message from the bundle process; True once its result has been forwarded."""
    op = header["op"]
    if not state["isolated"]:  # the first message, written before any bundle code ran
        if op != "isolated" or not isinstance(header.get("facts"), dict):
            raise channel.ProtocolError("the bundle process did not report its isolation first")
        state["isolated"] = True
        channel.send(out_w, {"op": "isolation", "facts": header["facts"]})
        channel.send_pickle(fd, "job", launch.job)
        return False
    if op in ("get", "compute", "put", "read_ahead"):
        reply, data = broker.handle(header, payload)
        channel.send(fd, reply, data)
    elif op == "labels":
        broker.label_free = False
        channel.send(fd, {"op": "labels", "labels": {k: list(v) for k, v in launch.labels.items()}})
    elif op == "progress":
        channel.send(out_w, {"op": "progress", "info": header.get("info")})
    elif op == "result" and not state["result"]:
        state["result"] = True
        state["alive_at_result"] = len(started_by_bundle(state["pid"]))
        channel.send(out_w, {"op": "result", "results": header.get("results")})
        return True
    return False


def _exited(pid: int) -> bool:
    reap()
    return pid in _STATUS


def _exit_status(pid: int) -> int | None:
    return os.waitstatus_to_exitcode(_STATUS[pid]) if pid in _STATUS else None


def _drain(log_r: int, log: _Log) -> None:
    os.set_blocking(log_r, False)
    while True:
        try:
            data = os.read(log_r, 1 << 16)
        except (BlockingIOError, OSError):
            return
        if not data:
            return
        log.write(data)
