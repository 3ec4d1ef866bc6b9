"""Micro-expression timing: onset -> apex -> offset, with each AU peaking at its own time.

Times are in frames (float) at the dataset's frame rate. Each AU follows a raised-cosine rise to its apex and a
raised-cosine fall to its end; the AUs of one expression start, peak and end at different times (the asynchrony
that full-sequence methods exploit). The expression's true apex is where the summed intensity peaks; the
annotation then adds coder jitter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_MS, MAX_MS = 40.0, 500.0


@dataclass(frozen=True)
class AuTiming:
    name: str
    start: float   # frame (float) where the AU starts to move
    apex: float
    end: float
    peak: float    # intensity at its apex


@dataclass(frozen=True)
class Event:
    """One micro-expression's true timing (integer frames) and its AUs' own timings."""

    onset: int
    apex: int
    offset: int
    aus: tuple[AuTiming, ...]


def duration_frames(rng: np.random.Generator, fps: float, median_ms: float) -> int:
    """Frames from onset to offset: log-normal duration, kept within 40..500 ms once rounded to frames."""
    ms = float(np.clip(median_ms * math.exp(0.45 * rng.standard_normal()), MIN_MS, MAX_MS))
    lo = math.ceil(MIN_MS * fps / 1000 - 1e-9)
    hi = math.floor(MAX_MS * fps / 1000 + 1e-9)
    return int(np.clip(round(ms * fps / 1000), max(lo, 1), hi))


def profile(t: np.ndarray, start: float, apex: float, end: float) -> np.ndarray:
    """Raised-cosine rise start->apex and fall apex->end; 0 outside, 1 at the apex."""
    t = np.asarray(t, float)
    out = np.zeros_like(t)
    rise = (t > start) & (t <= apex)
    fall = (t > apex) & (t < end)
    out[rise] = 0.5 - 0.5 * np.cos(np.pi * (t[rise] - start) / max(apex - start, 1e-9))
    out[fall] = 0.5 + 0.5 * np.cos(np.pi * (t[fall] - apex) / max(end - apex, 1e-9))
    out[t == apex] = 1.0
    return out


def make_event(rng: np.random.Generator, onset: int, n_frames: int, aus: list[str], peaks: list[float],
               async_share: float) -> Event:
    """Timings of one expression starting at `onset` and lasting `n_frames`. The first AU spans the whole
    expression (it fixes onset and offset); the others start later, peak earlier or later, end sooner."""
    offset = onset + n_frames
    d = float(n_frames)
    main_apex = onset + d * rng.uniform(0.3, 0.5)
    timings = []
    for i, (name, peak) in enumerate(zip(aus, peaks)):
        if i == 0:
            s, a, e = float(onset), main_apex, float(offset)
        else:
            a = float(np.clip(main_apex + rng.uniform(-1, 1) * async_share * d, onset + 0.15 * d, offset - 0.2 * d))
            s = onset + rng.uniform(0, 0.5) * (a - onset)
            e = offset - rng.uniform(0, 0.3) * (offset - a)
        timings.append(AuTiming(name, round(s, 3), round(a, 3), round(e, 3), round(float(peak), 4)))
    frames = np.arange(onset, offset + 1)
    total = sum(tm.peak * profile(frames, tm.start, tm.apex, tm.end) for tm in timings)
    apex = int(frames[int(np.argmax(total))])
    return Event(onset, apex, offset, tuple(timings))


def intensity(event: Event, frames: np.ndarray) -> dict[str, np.ndarray]:
    """Per-AU intensity at integer frame numbers."""
    return {tm.name: tm.peak * profile(frames, tm.start, tm.apex, tm.end) for tm in event.aus}


def annotate(rng: np.random.Generator, event: Event, fps: float, jitter_ms: float, apex_jitter_ms: float,
             first: int, last: int) -> tuple[int, int, int]:
    """A coder's onset/apex/offset: the true ones plus Gaussian jitter, kept ordered and inside the clip."""
    j = jitter_ms * fps / 1000
    ja = apex_jitter_ms * fps / 1000
    on = int(np.clip(event.onset + round(j * rng.standard_normal()), first, event.apex))
    off = int(np.clip(event.offset + round(j * rng.standard_normal()), event.apex, last))
    ap = int(np.clip(event.apex + round(ja * rng.standard_normal()), on, off))
    return on, ap, off
