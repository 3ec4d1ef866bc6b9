"""A fold's preprocessor wired to a real `Broker` over a socket pair, in one process (helpers only; no tests here).

The supervisor's loop runs in a thread (as supervisor.py serves a fold), so tests and benchmarks can drive a fold's
`context.preprocess` and watch what its supervisor did (`broker.stats`, `broker.ahead`).
"""
from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any, Sequence


def serve(broker: Any) -> socket.socket:
    """Answer the broker's requests on one end of a new socket pair; returns the fold's end (keep it alive)."""
    from harness.runner import channel

    ours, theirs = socket.socketpair()

    def loop() -> None:
        while True:
            try:
                header, payload = channel.recv(theirs.fileno())
            except (EOFError, OSError):
                return
            channel.send(theirs.fileno(), *broker.handle(header, payload))

    threading.Thread(target=loop, daemon=True).start()
    return ours


def fold_over_broker(cache_root: Path, scratch: Path, samples: Sequence[Any], threads: int = 1,
                     read_ahead: bool = True):
    """(broker, fold preprocessor) for a fold of `samples` with `threads` cores, sharing `cache_root`;
    `read_ahead=False` is a fold as it was before read-ahead (its supervisor's OpenCV had the threads instead)."""
    from harness.runner.broker import Broker
    from harness.runner.foldcache import fold_preprocessor
    from harness.runner.worker import Link

    broker = Broker(str(cache_root), "a" * 32, "1" * 32, {s.sample_id: s for s in samples}, threads=threads)
    end = serve(broker)
    pre = fold_preprocessor(Link(end.fileno()), scratch, threads if read_ahead else 1)
    pre.link_end = end  # the socket lives as long as the fold's preprocessor
    return broker, pre
