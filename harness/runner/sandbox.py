"""A filesystem sandbox for fold processes (Linux Landlock), applied before any bundle code runs.

Why: staging keeps the data root out of every path a bundle is handed, but a bundle can still walk up from its
frames to a shared folder such as /tmp, list it, and find a data root (with its annotation workbooks) one level
down; it could also open an annotation file by an absolute path it already knows, or write labels seen in one fold
to a file and read them back in the fold where that subject is tested. Landlock lets an unprivileged process give
up filesystem rights for good: after `restrict(...)` the fold can read only the Python installation, the harness
and bundle code, its staged frames and the preprocessing cache, and write only to its scratch folder and the cache.

No library offers Landlock for Python, so the three system calls are made here with ctypes (about 60 lines).
Where Landlock is missing (another OS, an old kernel), `restrict` does nothing and says so; the run's provenance
records which guarantee held.
"""
from __future__ import annotations

import ctypes
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

READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV


def _abi_rights(abi: int) -> int:
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
    """Paths a fold may read (and execute) and paths it may also write."""

    read: list[str] = field(default_factory=list)
    write: list[str] = field(default_factory=list)


def abi_version() -> int:
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        v = libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))  # ..._CREATE_RULESET_VERSION
    except (OSError, AttributeError):
        return 0
    return int(v) if v > 0 else 0


def restrict(plan: SandboxPlan) -> str:
    """Apply the plan to this process for good; returns a description of what now holds."""
    abi = abi_version()
    if abi <= 0:
        return "none (Landlock unavailable on this system)"
    libc = ctypes.CDLL(None, use_errno=True)
    handled = _abi_rights(abi)
    attr = struct.pack("Q", handled)
    buf = ctypes.create_string_buffer(attr, len(attr))
    fd = libc.syscall(_SYS_CREATE, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if fd < 0:
        return f"none (landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())})"
    try:
        for paths, rights in ((plan.read, READ), (plan.write, handled)):
            for path in dict.fromkeys(paths):
                _add_rule(libc, fd, path, rights & handled)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return f"none (no_new_privs refused: {os.strerror(ctypes.get_errno())})"
        if libc.syscall(_SYS_RESTRICT, fd, ctypes.c_uint32(0)) != 0:
            return f"none (landlock_restrict_self failed: {os.strerror(ctypes.get_errno())})"
    finally:
        os.close(fd)
    return f"landlock ABI {abi}"


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


SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/proc", "/sys", "/opt")
SYSTEM_WRITE = ("/dev",)


def plan_for_fold(work_dir: str, frames_root: str, cache_dir: str, bundle_dir: str, data_roots: list[str],
                  extra_write: list[str] | None = None) -> SandboxPlan:
    """The allow-list of a fold: never the data roots, nor any folder that contains one."""
    import site

    from harness.paths import PACKAGE_DIR

    def inside(p: str, root: str) -> bool:
        p, root = os.path.realpath(p), os.path.realpath(root)
        return p == root or p.startswith(root.rstrip(os.sep) + os.sep)

    read = [*SYSTEM_READ, sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(), str(PACKAGE_DIR),
            bundle_dir, frames_root]
    try:
        read.append(site.getusersitepackages())
    except AttributeError:
        pass
    for entry in sys.path:  # import roots, unless they would open a data root (e.g. a repo holding the corpus)
        if entry and os.path.isdir(entry) and not any(inside(r, entry) for r in data_roots):
            read.append(entry)
    read = [p for p in read if p and not any(inside(r, p) or inside(p, r) for r in data_roots)]
    write = [work_dir, cache_dir, *SYSTEM_WRITE, *(extra_write or [])]
    return SandboxPlan(read=read, write=write)
