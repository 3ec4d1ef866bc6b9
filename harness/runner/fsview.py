"""The fold's own view of the filesystem: a root that holds only what its sandbox plan grants.

Why, on top of Landlock: Landlock decides which files a process may open, but not which paths it may name.
A fold could still stat() any path (is there a data root at /data/casme3?), and connect() to any Unix socket
whose path it knows (a Docker daemon's, another program's fork server): Landlock on kernels up to ABI 7 does
not mediate connecting to a named socket, and a root-owned socket's owner is root. In its own mount namespace
the fold therefore pivots into a fresh tmpfs where every granted path is bind-mounted at the same place
(read-only and without access-time updates unless writable: reading a frame must not leave a mark a later fold
could stat), plus a /proc of its own PID namespace, the null-like devices and a private /dev/shm. Nothing else
exists there: not the data, not the harness's store, not other folds' folders, not any other socket. Paths stay
the same, so Python and its libraries work unchanged, except the fold's own two folders, which appear at
/fold/frames and /fold/work (so that their paths say nothing about where the harness keeps things).

Needs a private mount namespace (root, or unprivileged user namespaces); the caller records whether it held.
"""
from __future__ import annotations

import ctypes
import os
import platform

from harness.runner.sandbox import SandboxPlan

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_NOATIME, _MS_BIND, _MS_REC = 32, 1024, 4096, 0x4000
#: Where the fold sees its staged frames and its scratch folder: names that say nothing about the harness's
#: folders (the frame store lives in the harness's cache, the scratch folder under its staging root).
VIEW_FRAMES, VIEW_WORK = "/fold/frames", "/fold/work"
_MNT_DETACH = 2
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
_DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
              "stderr": "/proc/self/fd/2"}


class ViewFailed(OSError):
    pass


def _check(ok: int, what: str) -> None:
    if ok != 0:
        raise ViewFailed(f"{what}: {os.strerror(ctypes.get_errno())}")


def _mount(libc, src: str | None, dst: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(libc.mount(src.encode() if src else None, dst.encode(), fstype.encode() if fstype else None, flags,
                      data.encode() if data else None), f"mount {src or fstype} on {dst}")


def _symlinks_on_the_way(path: str) -> list[tuple[str, str]]:
    """(link, target) for each symbolic link among `path` and its ancestors, outermost first."""
    links, parts = [], path.strip("/").split("/")
    for i in range(1, len(parts) + 1):
        p = "/" + "/".join(parts[:i])
        if os.path.islink(p):
            links.append((p, os.readlink(p)))
    return links


def _make_point(root: str, path: str, is_dir: bool) -> str:
    target = root + path
    if is_dir:
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            open(target, "w").close()
    return target


def _binds(plan: SandboxPlan, moved: dict[str, str]) -> list[tuple[str, bool]]:
    """(real path, writable) to bind in place, parents before children, each covered path only once."""
    wanted: dict[str, bool] = {}
    for paths, writable in ((plan.read, False), (plan.write, True), (list(plan.devices), True)):
        for p in paths:
            if p in ("/proc",) or p in moved or not os.path.exists(p):
                continue
            real = os.path.realpath(p)
            wanted[real] = wanted.get(real, False) or writable
    out: list[tuple[str, bool]] = []
    for real in sorted(wanted, key=lambda p: (p.count("/"), p)):
        inside_ro = any(real.startswith(b.rstrip("/") + "/") and not w for b, w in out)
        inside_rw = any(real.startswith(b.rstrip("/") + "/") and w for b, w in out)
        if (inside_ro and not wanted[real]) or inside_rw:
            continue  # already visible with the same (or more) rights through a parent
        out.append((real, wanted[real]))
    return out


def _bind(libc, src: str, target: str, writable: bool) -> None:
    _mount(libc, src, target, None, _MS_BIND | _MS_REC)
    if not writable:
        _mount(libc, None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NOATIME)


def enter(plan: SandboxPlan, work_dir: str, moved: dict[str, str], private_proc: bool, private_shm: bool) -> str:
    """Pivot this process (in its own mount namespace) into a root made of the plan's paths, with each host
    path in `moved` shown at its new place instead; returns a description. Raises ViewFailed (nothing outside
    this namespace has changed then)."""
    libc = ctypes.CDLL(None, use_errno=True)
    root = work_dir.rstrip("/") + ".root"
    os.makedirs(root, exist_ok=True)
    _mount(libc, "tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=16m,mode=0755")
    for real, writable in _binds(plan, moved):
        _bind(libc, real, _make_point(root, real, os.path.isdir(real)), writable)
    for host, view in moved.items():
        _bind(libc, host, _make_point(root, view, True), host in plan.write)
    for path in [*plan.read, *plan.write, *plan.devices]:
        if path in moved:
            continue
        for link, dest in _symlinks_on_the_way(path):
            if not os.path.lexists(root + link):
                os.makedirs(os.path.dirname(root + link), exist_ok=True)
                os.symlink(dest, root + link)
    os.makedirs(root + "/proc", exist_ok=True)
    if private_proc:
        _mount(libc, "proc", root + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    else:
        _mount(libc, "/proc", root + "/proc", None, _MS_BIND | _MS_REC)
    os.makedirs(root + "/dev", exist_ok=True)
    for name, dest in _DEV_LINKS.items():
        if not os.path.lexists(f"{root}/dev/{name}"):
            os.symlink(dest, f"{root}/dev/{name}")
    if private_shm:
        os.makedirs(root + "/dev/shm", exist_ok=True)
        _mount(libc, "tmpfs", root + "/dev/shm", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1g,mode=1777")
    os.makedirs(root + "/tmp", mode=0o1777, exist_ok=True)
    number = _PIVOT_ROOT.get(platform.machine())
    os.chdir(root)
    if number is not None and libc.syscall(number, b".", b".") == 0:
        _check(libc.umount2(b".", _MNT_DETACH), "detach the old root")
        how = "pivot_root"
    else:
        _check(libc.chroot(b"."), "chroot")
        how = "chroot"
    os.chdir(moved.get(work_dir, work_dir))
    return f"yes ({how} into the granted paths only)"
