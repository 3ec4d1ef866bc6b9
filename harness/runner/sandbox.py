"""Landlock for a fold's bundle process: the filesystem, TCP and cross-domain rights it gives up for good.

Why: staging keeps the data root out of every path a bundle is handed, but a bundle can still open an annotation
file by an absolute path it learnt, walk up from its frames, or leave labels in a file for a later fold. After
`restrict(plan)` the process (and every process it starts) can read only the Python installation, the imported
code, the bundle and its staged frames, write only its scratch folder (and a few null-like devices), make no TCP
connection (ABI >= 4), and neither signal nor connect to an abstract Unix socket of any process outside its own
domain (ABI >= 6: the harness, the fold's supervisor, other folds). Device nodes cannot be created anywhere (a
block device made in the scratch folder would read the raw disk).

No library offers Landlock for Python, so the system calls are made here with ctypes. Where Landlock is missing
(another OS, an old kernel), `restrict` does nothing and says so; the run's provenance records what held.
"""
from __future__ import annotations

import ctypes
import glob
import os
import struct
import sys
from dataclasses import dataclass, field

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446  # same numbers on every Linux architecture
_PR_SET_NO_NEW_PRIVS = 38
_RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
DEVICE = READ_FILE | WRITE_FILE            # /dev/null and friends
GPU_DEVICE = READ_FILE | WRITE_FILE | IOCTL_DEV

#: Read everywhere a Python process needs to (not /dev: only the devices below are opened there).
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/proc", "/sys", "/opt")
#: Devices a fold may open: the null-like ones; a GPU's only when the fold runs on CUDA.
NULL_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
GPU_DEVICE_GLOBS = ("/dev/nvidia*", "/dev/nvidia-caps/*", "/dev/dri/*")


def _abi_fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


@dataclass
class SandboxPlan:
    """What a fold may read (and execute), write, and which device files it may open (path -> rights)."""

    read: list[str] = field(default_factory=list)
    write: list[str] = field(default_factory=list)
    devices: dict[str, int] = field(default_factory=dict)


def abi_version() -> int:
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        v = libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))  # ..._CREATE_RULESET_VERSION
    except (OSError, AttributeError):
        return 0
    return int(v) if v > 0 else 0


def describe(abi: int) -> str:
    """What a Landlock domain of this ABI enforces, in the words the provenance records."""
    parts = ["filesystem"]
    if abi >= 4:
        parts.append("tcp")
    if abi >= 6:
        parts.append("abstract-unix-sockets and signals scoped to the fold")
    return f"landlock ABI {abi} ({', '.join(parts)})"


def restrict(plan: SandboxPlan) -> str:
    """Apply the plan to this process for good; returns a description of what now holds."""
    abi = abi_version()
    if abi <= 0:
        return "none (Landlock unavailable on this system)"
    libc = ctypes.CDLL(None, use_errno=True)
    handled = _abi_fs_rights(abi)
    if abi >= 6:
        attr = struct.pack("QQQ", handled, NET_BIND_TCP | NET_CONNECT_TCP, SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL)
    elif abi >= 4:
        attr = struct.pack("QQ", handled, NET_BIND_TCP | NET_CONNECT_TCP)
    else:
        attr = struct.pack("Q", handled)
    buf = ctypes.create_string_buffer(attr, len(attr))
    fd = libc.syscall(_SYS_CREATE, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if fd < 0:
        return f"none (landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())})"
    try:
        writable = handled & ~(MAKE_CHAR | MAKE_BLOCK)
        for paths, rights in ((plan.read, READ), (plan.write, writable)):
            for path in dict.fromkeys(paths):
                _add_rule(libc, fd, path, rights & handled)
        for path, rights in plan.devices.items():
            _add_rule(libc, fd, path, rights & handled)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return f"none (no_new_privs refused: {os.strerror(ctypes.get_errno())})"
        if libc.syscall(_SYS_RESTRICT, fd, ctypes.c_uint32(0)) != 0:
            return f"none (landlock_restrict_self failed: {os.strerror(ctypes.get_errno())})"
    finally:
        os.close(fd)
    return describe(abi)


def _add_rule(libc, ruleset_fd: int, path: str, rights: int) -> None:
    try:
        pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path that does not exist needs no rule
    try:
        if not os.path.isdir(path):
            rights &= FILE_RIGHTS
        attr = struct.pack("=Qi", rights, pfd)
        buf = ctypes.create_string_buffer(attr, len(attr))
        libc.syscall(_SYS_ADD_RULE, ruleset_fd, ctypes.c_int(_RULE_PATH_BENEATH), buf, ctypes.c_uint32(0))
    finally:
        os.close(pfd)


def _inside(p: str, root: str, resolve: bool = True) -> bool:
    if resolve:
        p, root = os.path.realpath(p), os.path.realpath(root)
    return p == root or p.startswith(root.rstrip(os.sep) + os.sep)


_SYSTEM: list[str] | None = None


def system_paths() -> list[str]:
    """What every fold of this process tree may read, whatever the run: the Python installation, the imported
    code, sys.path. Computed once per zygote (it has imported all it will before forking), for ~0.5 s."""
    global _SYSTEM
    import site

    if _SYSTEM is not None:
        return _SYSTEM
    paths = [*SYSTEM_READ, sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(), *imported_roots()]
    try:
        paths.append(site.getusersitepackages())
    except AttributeError:
        pass
    paths += [entry for entry in sys.path if entry and os.path.isdir(entry)]  # roots of later imports
    real = sorted({os.path.realpath(p) for p in paths if p and os.path.exists(p)}, key=lambda p: (len(p), p))
    kept: list[str] = []
    for p in real:  # a path inside one already kept is granted with it
        if not any(p.startswith(k.rstrip(os.sep) + os.sep) for k in kept):
            kept.append(p)
    _SYSTEM = kept
    return kept


def imported_roots() -> list[str]:
    """Where the modules this process has imported live: each top-level package's folder (or a lone module's
    file), found from the modules themselves, so that a checkout on sys.path beside an installed copy is
    granted where it really is."""
    roots = []
    for name, module in list(sys.modules.items()):
        top = name.partition(".")[0]
        paths = [getattr(module, "__file__", None)]
        try:
            paths += list(getattr(module, "__path__", None) or [])
        except TypeError:  # a module-like object whose __path__ is no list (torch's ops namespaces)
            pass
        for path in paths:
            if not isinstance(path, str) or not os.path.isabs(path):
                continue
            path = os.path.realpath(path)
            parts = path.split(os.sep)
            if top in parts:  # .../<top>/... -> the package folder
                roots.append(os.sep.join(parts[:len(parts) - parts[::-1].index(top)]))
            elif os.path.isfile(path):
                roots.append(path)
    return list(dict.fromkeys(roots))


def _around(path: str, denied: list[str], depth: int = 3) -> list[str]:
    """`path` if it holds no denied folder; else its children that hold none (recursively), so that granting a
    folder on sys.path (a checkout) never grants the harness home or a data root inside it."""
    if any(_inside(path, d, False) for d in denied):
        return []
    if not any(_inside(d, path, False) for d in denied):
        return [path]
    if depth == 0 or not os.path.isdir(path):
        return []
    try:
        children = sorted(os.listdir(path))
    except OSError:
        return []
    return [q for c in children for q in _around(os.path.join(path, c), denied, depth - 1)]


def plan_for_fold(work_dir: str, frames_root: str, bundle_dir: str, data_roots: list[str], device: str = "cpu",
                  private: list[str] | None = None) -> SandboxPlan:
    """The allow-list of a fold: never a data root, nor the harness's own folders (`private`: its home with the
    store and secrets, the cache), nor any folder that holds one; the fold's own paths are granted as given."""
    denied = [os.path.realpath(d) for d in [*data_roots, *(private or [])]]
    read = [q for p in system_paths() for q in _around(p, denied)]
    read += [p for p in (bundle_dir, frames_root) if not any(_inside(p, r) or _inside(r, p) for r in data_roots)]
    devices = {d: DEVICE for d in NULL_DEVICES}
    if device == "cuda":
        devices.update({d: GPU_DEVICE for pattern in GPU_DEVICE_GLOBS for d in glob.glob(pattern)})
    return SandboxPlan(read=list(dict.fromkeys(read)), write=[work_dir], devices=devices)
