"""Everything a fold's bundle process gives up before any bundle code runs, layer by layer, and what held.

Layers (each recorded in the fold's provenance, `isolation`):
- descriptors: all closed except the channel to the fold's supervisor; stdout/stderr go to the fold's log, stdin
  is /dev/null, so nothing inherited leads to the harness, its store or another process;
- its own session (and process group), and the fold's PID namespace where the kernel allows it (the supervisor
  makes it; this process is its init): when the fold ends, everything it started dies with it;
- namespaces of its own (Linux, as root or with unprivileged user namespaces): no network at all (not even
  loopback, nor other processes' abstract Unix sockets), private System V / POSIX IPC, and a root that holds
  only the granted paths (fsview.py): no other path can even be named, so no named socket can be reached, with a
  /proc that shows only the fold's own processes (not the harness's command line and environment, nor other
  folds) and a private /dev/shm that dies with the fold;
- no capabilities (when run as root), no core dumps, no new privileges;
- Landlock (see sandbox.py): files, TCP, signals and abstract sockets outside the fold.
"""
from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
from typing import Any

from harness.runner.sandbox import SandboxPlan, restrict

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 2, 4, 8, 0x4000, 1 << 18
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_CAP_AMBIENT = 1, 4, 24, 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
SHM_SIZE = "1g"


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _err() -> str:
    return os.strerror(ctypes.get_errno())


def die_with_parent() -> None:
    """Linux: SIGKILL this process when the one that forked it goes away (e.g. after kill -9)."""
    if sys.platform.startswith("linux"):
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def new_pid_namespace() -> str:
    """Called by the fold's supervisor before it forks the bundle process: that child becomes init of a new
    PID namespace, so when it ends the kernel kills every process it started."""
    if not sys.platform.startswith("linux"):
        return "no (not Linux)"
    libc = _libc()
    if libc.unshare(CLONE_NEWPID) == 0:
        return "yes"
    first = _err()
    if os.geteuid() != 0 and _enter_user_namespace(libc, CLONE_NEWPID):
        return "yes (user namespace)"
    return f"no ({first})"


def _enter_user_namespace(libc, flags: int) -> bool:
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(CLONE_NEWUSER | flags) != 0:
        return False
    try:
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
    except OSError:
        return False
    return True


def _close_descriptors(keep: set[int]) -> None:
    try:
        fds = [int(f) for f in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 4096))
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _std_streams(log_fd: int) -> None:
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)


def _namespaces(libc, plan: SandboxPlan, work_dir: str, moved: dict[str, str]) -> dict[str, Any]:
    """Own network, IPC and mount namespaces, and in the latter a root holding only the granted paths with a
    private /proc (when this is init of a PID namespace) and /dev/shm (fsview.py). Returns what held."""
    from harness.runner import fsview

    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC
    facts: dict[str, Any] = {"network": False, "ipc": False, "private_proc": False, "private_shm": False,
                             "private_root": "no"}
    if libc.unshare(flags) != 0:
        reason = _err()
        if not (os.geteuid() != 0 and _enter_user_namespace(libc, flags)):
            facts["namespaces"] = f"unavailable ({reason})"
            return facts
    facts.update(network=True, ipc=True)
    if libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        facts["namespaces"] = f"network, ipc (mount namespace not private: {_err()})"
        return facts
    pid1 = os.getpid() == 1
    facts["namespaces"] = "network, ipc, mount" + (", pid" if pid1 else "")
    try:
        facts["private_root"] = fsview.enter(plan, work_dir, moved, private_proc=pid1, private_shm=True)
        facts.update(private_proc=pid1, private_shm=True, moved=True)
    except OSError as exc:
        facts["private_root"] = f"no ({exc})"
        if pid1 and libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None) == 0:
            facts["private_proc"] = True
        opts = f"size={SHM_SIZE},mode=1777".encode()
        if os.path.isdir("/dev/shm") and libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", _MS_NOSUID | _MS_NODEV,
                                                     opts) == 0:
            facts["private_shm"] = True
    return facts


def _drop_capabilities(libc) -> str:
    """Root keeps no capability: no module loading, raw I/O, device nodes, ptrace, mounts..."""
    try:
        last = int(open("/proc/sys/kernel/cap_last_cap").read())
    except (OSError, ValueError):
        last = 63
    for cap in range(last + 1):
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        return f"not dropped ({_err()})"
    status = open("/proc/self/status").read()
    eff = next((ln.split()[1] for ln in status.splitlines() if ln.startswith("CapEff:")), "?")
    return "none left" if eff.strip("0") == "" else f"left: {eff}"


#: Environment variables a fold keeps: those that decide numerics, threads, devices, locale and Python itself.
#: Everything else (HARNESS_*, tokens, credentials, a user's own paths) is dropped: a bundle could otherwise
#: report it in its records, which the boards publish.
KEPT_VARIABLES = ("PATH", "LANG", "LANGUAGE", "LC_", "TZ", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHASHSEED",
                  "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONIOENCODING", "VIRTUAL_ENV", "OMP_", "MKL_",
                  "OPENBLAS_", "KMP_", "GOMP_", "NUMEXPR_", "NVPL_", "CUDA_", "CUBLAS_", "CUDNN_", "NVIDIA_",
                  "TORCH_", "OPENCV_", "TF_CPP_", "GLOG_", "TQDM_")


def forget_environment(work_dir: str) -> None:
    """Only the variables above, no command line; scratch files of every library go to the fold's folder."""
    import tempfile

    for var in [v for v in os.environ if not v.startswith(KEPT_VARIABLES) or v.startswith("HARNESS_")]:
        del os.environ[var]
    sys.argv[:] = ["harness-fold"]
    os.chdir(work_dir)
    for var in ("TMPDIR", "MPLCONFIGDIR", "XDG_CACHE_HOME", "HOME"):
        os.environ[var] = str(work_dir)
    tempfile.tempdir = str(work_dir)


def confine(plan: SandboxPlan | None, keep_fds: set[int], log_fd: int, work_dir: str, frames_root: str,
            namespaces: bool = True) -> tuple[dict[str, Any], dict[str, str]]:
    """Apply every layer to this process (before any bundle code); returns what held (for the provenance) and
    where the fold's own folders now appear (host path -> path in the fold's view; empty if unmoved)."""
    import time

    from harness.runner.fsview import VIEW_FRAMES, VIEW_WORK

    t0 = time.perf_counter()
    facts: dict[str, Any] = {}
    _close_descriptors(keep_fds | {log_fd})
    _std_streams(log_fd)
    facts["descriptors"] = "closed except the supervisor channel; stdout/stderr to the fold log"
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # the zygote ignores Ctrl-C; a fold need not
    facts["session"] = "own session and process group"
    os.makedirs(work_dir, exist_ok=True)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    moved: dict[str, str] = {}
    if not namespaces:
        facts.update(network=False, ipc=False, private_proc=False, private_shm=False, namespaces="not used")
    elif plan is not None and sys.platform.startswith("linux"):
        facts.update(_namespaces(_libc(), plan, work_dir, {frames_root: VIEW_FRAMES, work_dir: VIEW_WORK}))
        if facts.pop("moved", False):
            moved = {frames_root: VIEW_FRAMES, work_dir: VIEW_WORK}
            plan = SandboxPlan([moved.get(p, p) for p in plan.read], [moved.get(p, p) for p in plan.write],
                               plan.devices)
        if facts.get("private_shm"):
            plan.write.append("/dev/shm")
    forget_environment(moved.get(work_dir, work_dir))
    facts["environment"] = f"{len(os.environ)} variables kept (threads, devices, locale, Python)"
    if plan is None:
        facts["landlock"] = "none (disabled)"
        return facts, moved
    if sys.platform.startswith("linux"):
        facts["capabilities"] = _drop_capabilities(_libc()) if os.geteuid() == 0 else "not root"
    facts["landlock"] = restrict(plan)
    facts["confine_s"] = round(time.perf_counter() - t0, 4)
    return facts, moved
