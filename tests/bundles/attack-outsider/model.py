"""Attack: everything beyond reading files that a fold running as root might try.

Each probe records "ok: ..." when it worked and the error when it did not; the test asserts every one failed.
`known_*` are paths the attacker is assumed to know (a workbook, the harness's secrets and store, a socket of a
privileged service). Predicts class 0 for every sample.
"""
from __future__ import annotations

import ctypes
import gc
import os
import socket
import stat


def _try(fn) -> str:
    try:
        return f"ok: {fn()}"[:200]
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:200]


def _nothing(what: str):
    raise LookupError(what)


def _connect(family, kind, address):
    s = socket.socket(family, kind)
    s.settimeout(1)
    try:
        s.connect(address)
        return "connected"
    finally:
        s.close()


def _mount_in_user_namespace():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    if libc.mount(b"tmpfs", b"/mnt", b"tmpfs", 0, None) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return "mounted"


def _others():
    me = {os.getpid(), os.getppid()}
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in me and int(p) != 1]


def _labels_in_memory(train_ids: set[str]) -> int:
    """Objects holding a training label before any was read: dicts keyed by training ids, label tuples."""
    found = 0
    for obj in gc.get_objects():
        if isinstance(obj, dict) and len(obj) >= len(train_ids) > 0:
            try:
                if train_ids <= set(obj) and all(isinstance(obj[k], (tuple, list, int)) for k in train_ids):
                    found += 1
            except TypeError:
                continue
    return found


class Outsider:
    def __init__(self, known_read=(), known_write=(), known_socket: str = "") -> None:
        self.known_read, self.known_write, self.known_socket = list(known_read), list(known_write), known_socket

    def fit(self, train, context) -> None:
        r = {}
        r["labels_before_first_read"] = str(_labels_in_memory(set(train.ids)))
        r["mknod_block_device"] = _try(lambda: os.mknod("disk", 0o600 | stat.S_IFBLK, os.makedev(8, 0)))
        for dev in ("/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/mem", "/dev/kvm", "/dev/tty"):
            r[f"open {dev}"] = _try(lambda dev=dev: os.open(dev, os.O_RDONLY))
        r["tcp localhost"] = _try(lambda: _connect(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 22)))
        r["udp out"] = _try(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("192.0.2.1", 9)))
        r["abstract sockets listed"] = _try(lambda: [ln.split()[-1] for ln in open("/proc/net/unix").read()
                                                     .splitlines()[1:] if len(ln.split()) >= 8] or
                                            _nothing("none"))
        if self.known_socket:
            r["known socket"] = _try(lambda: _connect(socket.AF_UNIX, socket.SOCK_STREAM, self.known_socket))
        r["other processes"] = _try(lambda: _others() or _nothing("none visible"))
        r["signal the parent"] = _try(lambda: os.kill(os.getppid(), 0) if os.getppid() > 0 else
                                      _nothing("no parent visible"))
        r["capabilities"] = _try(lambda: [ln for ln in open("/proc/self/status").read().splitlines()
                                          if ln.startswith("CapEff") and ln.split()[1].strip("0")] or
                                 _nothing("none"))
        r["chroot"] = _try(lambda: os.chroot("."))
        r["mount in a user namespace"] = _try(_mount_in_user_namespace)
        for path in self.known_read:
            r[f"read {path}"] = _try(lambda path=path: len(open(path, "rb").read(16)))
            r[f"stat {path}"] = _try(lambda path=path: os.stat(path).st_ino)
        for path in self.known_write:
            r[f"write {path}"] = _try(lambda path=path: open(path, "w").write("x"))
        frame = os.path.join(train[0].frames_dir, train[0].frame_files[0])
        r["write own frames"] = _try(lambda: open(frame, "r+b").write(b"x"))
        r["siblings of the scratch folder"] = _try(lambda: sorted(set(os.listdir(os.path.dirname(os.getcwd())))
                                                               - {"frames", "work"}) or
                                                   _nothing("none"))
        r["environment"] = _try(lambda: [k for k in os.environ if "CANARY" in k or k.startswith("HARNESS")] or
                                _nothing("clean"))
        context.record("probes", r)

    def predict(self, test, context):
        return [0] * len(test)
