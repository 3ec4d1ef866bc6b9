"""The zygote: a clean, warm process that forks each fold's supervisor, reachable only by the harness.

Why not multiprocessing's fork server: it listens on a Unix socket that any process on the machine that can
name it may connect to, and forks for whoever does, running whatever that caller pickles; a fold that reaches it
runs code outside its sandbox. The zygote is connected to the harness by one socketpair, inherited by no other
process (its children close it first thing), and it never unpickles anything: a request is a small JSON header
plus the descriptors of the fold's pipes and log; the job itself goes from the harness straight to the
supervisor. It never held the task (it starts as a fresh interpreter), so no fold inherits labels from it.

It is also a child subreaper: a process a fold started that escapes its supervisor ends up here, and is killed.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading

#: Imported once by the zygote, so that each fold starts warm (fork, not a fresh interpreter).
PRELOAD = ("harness.runner.warm", "harness.runner.worker", "harness.runner.supervisor", "harness.runner.broker",
           "harness.runner.isolation", "harness.runner.labels", "harness.preprocess.preprocessor", "harness.api")

_BOOT = """
import ctypes, json, os, signal, sys
ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the harness
fd = int(sys.argv[1])
sys.path[:] = json.loads(os.read(fd, 1 << 24))  # one packet: the harness's sys.path, so the same code is imported
from harness.runner.zygote import serve
serve(fd)
"""


class ZygoteGone(RuntimeError):
    """The zygote died (killed, or it could not start)."""


class Zygote:
    """The harness's handle on its zygote process (started on first use)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        if self.sock is not None:  # it died (killed, out of memory): start a new one
            self.sock.close()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
        self.proc = subprocess.Popen([sys.executable, "-c", _BOOT, str(theirs.fileno())], pass_fds=[theirs.fileno()],
                                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     cwd="/" if os.name == "posix" else None)
        theirs.close()
        ours.send(json.dumps([os.path.abspath(p) if p else os.getcwd() for p in sys.path]).encode())
        self.sock = ours

    def fork(self, fds: list[int], flags: dict) -> int:
        """A new supervisor with `fds` (job pipe, output pipe, log); returns its pid."""
        with self._lock:
            self.start()
            try:
                socket.send_fds(self.sock, [json.dumps({"op": "fork", "flags": flags}).encode()], fds)
                reply = self.sock.recv(4096)
            except OSError as exc:
                raise ZygoteGone(f"the harness's fork process is gone ({exc})") from None
            if not reply:
                raise ZygoteGone(f"the harness's fork process is gone (exit code {self.proc.poll()})")
            return int(json.loads(reply)["pid"])

    def kill(self, pid: int) -> None:
        """SIGKILL one supervisor (and so its fold: its bundle process dies with it, escapees with the zygote's
        sweep)."""
        with self._lock:
            if self.sock is not None:
                try:
                    self.sock.send(json.dumps({"op": "kill", "pid": int(pid)}).encode())
                except OSError:
                    pass

    def close(self) -> None:
        with self._lock:
            if self.sock is not None:
                self.sock.close()
                self.sock = None
            if self.proc is not None:
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                self.proc = None


_SHARED: Zygote | None = None


def shared_zygote() -> Zygote:
    """The zygote of this harness process (started on first use, closed at exit): every run reuses it, so the
    heavy imports are paid once per process, as with a fork server."""
    global _SHARED
    if _SHARED is None:
        import atexit

        _SHARED = Zygote()
        atexit.register(_SHARED.close)
    return _SHARED


# --- the zygote process ----------------------------------------------------------------------------------------
def serve(fd: int) -> None:
    import importlib

    from harness.runner.isolation import die_with_parent
    from harness.runner.supervisor import child_subreaper, process_table

    die_with_parent()
    child_subreaper()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the harness's to handle; it then closes us
    for name in PRELOAD:
        importlib.import_module(name)
    from harness.runner.sandbox import system_paths

    system_paths()  # computed once here, inherited by every fold
    sock = socket.socket(fileno=fd)
    supervisors: set[int] = set()
    try:
        while True:
            ready, _, _ = select.select([sock], [], [], 0.5)
            if ready:
                try:
                    msg, fds, _, _ = socket.recv_fds(sock, 1 << 16, 8)
                except OSError:
                    break
                if not msg:
                    break
                request = json.loads(msg)
                if request.get("op") == "fork":
                    pid = _fork_supervisor(sock, fds, request.get("flags", {}))
                    supervisors.add(pid)
                    sock.send(json.dumps({"pid": pid}).encode())
                elif request.get("op") == "kill" and request.get("pid") in supervisors:
                    _kill(request["pid"])
                for f in fds:
                    os.close(f)
            _reap(supervisors)
            me = os.getpid()
            for pid, ppid in process_table().items():  # orphans of a fold, re-parented here
                if ppid == me and pid not in supervisors:
                    _kill(pid)
    finally:
        for pid in list(supervisors) + [p for p, pp in process_table().items() if pp == os.getpid()]:
            _kill(pid)
        _reap(supervisors)
        os._exit(0)


def _fork_supervisor(sock: socket.socket, fds: list[int], flags: dict) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            sock.close()
            from harness.runner.supervisor import main

            code = main(fds[0], fds[1], fds[2], flags)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    return pid


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _reap(supervisors: set[int]) -> None:
    from harness.runner.supervisor import reap

    supervisors.difference_update(reap())
