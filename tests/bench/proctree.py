"""Memory and CPU of a whole process tree, sampled from /proc (Linux), for the scale benchmark.

Why a sampler: `getrusage(RUSAGE_CHILDREN).ru_maxrss` is the peak of the single largest descendant, not of the
tree; folds run side by side (`--executor local`) and each holds its own memory, so the tree's peak is a sum at
one moment. Each tick adds up, over the root and every descendant alive then, RSS (resident pages, shared ones
counted in every process that maps them: an upper bound) and PSS (shared pages split between their users: what
the tree really takes). CPU: each tick also reads every process's own user + system time (/proc/<pid>/stat), and
the tree's CPU is the sum of the last value seen per process. `getrusage(RUSAGE_CHILDREN)` alone is not enough: it
counts a descendant only once its parent has waited for it, and a run interrupted at its budget dies with its
fold processes unwaited (they die with their parent), so their minutes would vanish. What a process does after
the last tick before it exits (at most one interval) is missed; `measured` takes the larger of the two figures.
/proc/stat gives what the rest of the machine did meanwhile (other jobs, and steal: time the hypervisor took back).
"""
from __future__ import annotations

import os
import resource
import threading
import time
from dataclasses import dataclass, field

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def tree(root: int) -> set[int]:
    """`root` and every process descended from it."""
    from harness.runner.supervisor import descendants

    return {root} | descendants(root)


def _rss_pss(pid: int) -> tuple[int, int]:
    """(RSS, PSS) bytes of one process; (0, 0) when it has gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            rss = pss = 0
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
            return rss, pss
    except OSError:
        try:
            with open(f"/proc/{pid}/statm") as f:
                rss = int(f.read().split()[1]) * PAGE
            return rss, rss
        except OSError:
            return 0, 0


def _own_cpu(pid: int) -> tuple[int, float] | None:
    """(start time in clock ticks, user + system CPU seconds) of one process; None when it has gone. The start
    time tells a reused pid from the process that had it before."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) ": the comm may hold spaces
    hz = os.sysconf("SC_CLK_TCK")
    # fields[0] is field 3 of proc(5): utime is field 14, stime 15, starttime 22
    return int(fields[19]), (int(fields[11]) + int(fields[12])) / hz


def cpu_times() -> dict[str, float]:
    """Machine-wide CPU seconds from /proc/stat: busy (user, nice, system, irq, softirq), steal, idle."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return {"busy": (user + nice + system + irq + softirq) / hz, "steal": steal / hz, "idle": (idle + iowait) / hz}


@dataclass
class TreeSample:
    peak_rss: int = 0
    peak_pss: int = 0
    peak_processes: int = 0
    samples: int = 0
    cpu_s: float = 0.0  # user + system seconds of every process of the tree, as last seen
    series: list[tuple[float, int, int]] = field(default_factory=list)  # (seconds, rss, pss) every tick


class TreeSampler:
    """Samples the tree of `root` every `interval` seconds in a thread until `stop()`."""

    def __init__(self, root: int, interval: float = 0.25):
        self.root, self.interval = root, interval
        self.result = TreeSample()
        self._stop = threading.Event()
        self._t0 = time.perf_counter()
        self._cpu: dict[tuple[int, int], float] = {}  # (pid, start time) -> CPU seconds last seen
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "TreeSampler":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval)

    def tick(self) -> None:
        pids = tree(self.root)
        rss = pss = 0
        for pid in pids:
            r, p = _rss_pss(pid)
            rss, pss = rss + r, pss + p
            own = _own_cpu(pid)
            if own is not None:
                self._cpu[(pid, own[0])] = own[1]
        res = self.result
        res.cpu_s = round(sum(self._cpu.values()), 2)
        res.peak_rss, res.peak_pss = max(res.peak_rss, rss), max(res.peak_pss, pss)
        res.peak_processes = max(res.peak_processes, len(pids))
        res.samples += 1
        res.series.append((round(time.perf_counter() - self._t0, 2), rss, pss))

    def stop(self) -> TreeSample:
        self._stop.set()
        self._thread.join()
        return self.result


def children_cpu() -> float:
    """User + system CPU seconds of every waited-for descendant of this process so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
