"""Read-ahead: the supervisor computes a `Preprocessor.map`'s preprocessing for the samples the fold has not
reached yet, on the cores the fold leaves idle.

Why: a fold asks its supervisor for one sample at a time, so a lone fold (a DFME phase is one fold) preprocessed
on one core while the others idled: LBP-TOP aligning every frame of 2,629 DFME clips took 4 minutes on one
supervisor, and handing OpenCV a second thread instead only spent more CPU. The fold names the calls its `map`
made for its first sample (`READ_AHEAD`: calls whose arguments are settings, the same for every sample); helper
processes compute them for the map's other samples from the far end of the list while the fold's own requests
come from the near end, and they stop where they meet. Each entry is computed by whoever locks it first (`Cache`
locks per entry; the fold puts off a sample a helper holds, `Preprocessor.map`), and the entries are the same
whoever computes them: the Preprocessor's results depend on the sample and the settings only
(tests/runner/test_read_ahead.py).

Processes, not threads: measured on 16 clips of 60 frames (2 cores), two threads aligned them 1.24x faster than
one, two processes 2.0x: the per-frame work holds the GIL too much for threads. Helpers are fresh interpreters
(`subprocess`), not forks: the supervisor has run MediaPipe by then, and a fork of a process whose MediaPipe graph
has threads hangs. Their start-up (~1 s) is why a map of fewer than `MIN_SAMPLES` samples is not read ahead.

Nothing here changes what a fold may learn: the requests are the fold's own (settings and its own samples), the
helpers run harness code only, and they write where the fold's knowledge allowed when it asked, exactly as its
`compute` requests do (broker.py). The supervisor hands each helper one sample at a time, so it alone decides
where the helpers stop.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

#: Brokered Preprocessor methods whose arguments are settings (configs, modes, sizes), never one sample's frame
#: numbers, so the call a fold made for one sample means the same for every other sample.
READ_AHEAD = ("face", "track", "aligned_clip", "apex_frame", "onset_apex_flow", "flow_sequence", "region_motion",
              "spot_apex")
#: Most distinct calls one request may name (a map's function makes a handful).
MAX_CALLS = 8
#: Fewer samples left than this are not worth a helper's start-up.
MIN_SAMPLES = 16
#: Samples per helper at least (so a short list does not start many).
PER_HELPER = 8

_BOOT = """
import ctypes, json, signal, sys
ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the supervisor
sys.path[:] = json.loads(sys.argv[3])
from harness.runner.readahead import helper_main
helper_main(int(sys.argv[1]), int(sys.argv[2]))
"""


class ReadAhead:
    """Helper processes computing `calls` for `sample_ids`, last sample first, until the fold's own requests
    reach theirs (`reached`) or `stop()`.

    `knowledge`: None writes into the shared cache at `cache_root`; a scope name writes into that scope only.
    """

    def __init__(self, cache_root: str, knowledge: str | None, samples: dict[str, Any], sample_ids: list[str],
                 calls: list[tuple[str, list, dict]], helpers: int):
        self._todo = list(sample_ids)
        self._reached: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self.computed = 0   # samples a helper computed something for (not found done, nor being done elsewhere)
        self.failed = 0     # samples whose calls raised: the fold's own request meets the error again
        self.timings: dict = {}  # the helpers' stage clocks (harness.preprocess.timing), summed
        self.pids: list[int] = []
        job = {"root": str(cache_root), "knowledge": knowledge, "calls": calls,
               "samples": {i: samples[i] for i in sample_ids}}
        self._feeders = [self._spawn(job) for _ in range(max(1, min(helpers, len(sample_ids) // PER_HELPER)))]

    def _spawn(self, job: dict) -> threading.Thread:
        helper_reads, to_helper = os.pipe()
        from_helper, helper_writes = os.pipe()
        path = json.dumps([os.path.abspath(p) if p else os.getcwd() for p in sys.path])
        proc = subprocess.Popen([sys.executable, "-c", _BOOT, str(helper_reads), str(helper_writes), path],
                                pass_fds=(helper_reads, helper_writes), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(helper_reads)
        os.close(helper_writes)
        self.pids.append(proc.pid)
        feeder = threading.Thread(target=self._feed, args=(proc, job, from_helper, to_helper), daemon=True,
                                  name="read-ahead")
        feeder.start()
        return feeder

    def reached(self, sample_id: str) -> None:
        """The fold asked for this sample itself: a helper that gets there stops (the rest is done or being done)."""
        with self._lock:
            self._reached.add(sample_id)

    def _next(self) -> str | None:
        with self._lock:
            if self._stopping or not self._todo or self._todo[-1] in self._reached:
                self._todo.clear()
                return None
            return self._todo.pop()

    def _feed(self, proc: subprocess.Popen, job: dict, from_helper: int, to_helper: int) -> None:
        """One helper's supervisor side: send it the job (here, not in the supervisor's thread, which would wait
        for the helper's start-up), count what it did, hand it the next sample (None: stop)."""
        from harness.preprocess.timing import merge
        from harness.runner import channel

        try:
            channel.send_pickle(to_helper, "job", job)
            while True:
                header, _ = channel.recv(from_helper)
                outcome = header.get("outcome")
                with self._lock:
                    self.computed += outcome == "computed"
                    self.failed += outcome == "failed"
                sample_id = self._next()
                channel.send(to_helper, {"op": "next", "sample": sample_id})
                if sample_id is None:
                    header, _ = channel.recv(from_helper)  # its stage clock, for the fold's report
                    with self._lock:
                        self.timings = merge(self.timings, header.get("timings") or {})
                    break
        except (EOFError, OSError, channel.ProtocolError):
            pass  # the helper died: the fold's own requests compute what it did not
        finally:
            os.close(from_helper)
            os.close(to_helper)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """No new samples; wait for the ones in progress (each finishes its entry: no half-written state)."""
        with self._lock:
            self._stopping = True
        for feeder in self._feeders:
            feeder.join(timeout)

    @property
    def running(self) -> bool:
        return any(f.is_alive() for f in self._feeders)


def helper_main(from_supervisor: int, to_supervisor: int) -> None:
    """A helper process: compute the job's calls for each sample the supervisor hands it, report, repeat."""
    import cv2

    from harness.preprocess.cache import Cache, CacheBusy
    from harness.preprocess.errors import NoFaceError
    from harness.preprocess.preprocessor import Preprocessor
    from harness.preprocess.timing import CLOCK
    from harness.runner import channel

    cv2.setNumThreads(1)  # one core per helper: the others are the fold's and the other helpers'
    job = channel.recv_pickle(from_supervisor, "job")
    cache = Cache(job["root"])
    cache = cache.scoped(job["knowledge"]) if job["knowledge"] else cache
    pre = Preprocessor(Path(job["root"]).parent)
    pre.cache = cache
    outcome = None
    while True:
        channel.send(to_supervisor, {"op": "ask", "outcome": outcome})
        header, _ = channel.recv(from_supervisor)
        sample = job["samples"].get(header.get("sample"))
        if sample is None:
            channel.send(to_supervisor, {"op": "timings", "timings": CLOCK.report()})
            return
        misses = sum(cache.misses.values())
        try:
            with cache.nonblocking():
                for method, args, kwargs in job["calls"]:
                    with contextlib.suppress(NoFaceError):  # "no face" is a cached answer too
                        getattr(pre, method)(sample, *args, **kwargs)
            outcome = "computed" if sum(cache.misses.values()) > misses else "found"
        except CacheBusy:
            outcome = "busy"  # someone else computes it now
        except Exception:  # e.g. a frame that will not decode: the fold's own request reports it
            outcome = "failed"
