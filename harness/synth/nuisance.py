"""What a real recording adds that is not the expression: head motion, blinks, flicker, sensor noise.

All of it is generated per clip from the clip's own random stream, so it is identical whatever order clips
are rendered in. Sensor noise is drawn in the renderer (it never enters the truth); head motion and blinks are
part of the stored truth.
"""
from __future__ import annotations

import math

import numpy as np


def head_track(rng: np.random.Generator, times: np.ndarray, centre: tuple[float, float], shift_px: float,
               rotation_deg: float) -> np.ndarray:
    """(T, 2, 3) rigid transforms (rotation about the face centre plus translation) relative to the first frame.

    Slow motion: two sinusoids per degree of freedom at 0.2-1.2 Hz with random phases, so a 0.3 s clip drifts by
    a fraction of a pixel and a long CAS(ME)^3 clip by a pixel or more, as seated subjects do.
    """
    t = np.asarray(times, float) - float(times[0])

    def wave(amp: float) -> np.ndarray:
        out = np.zeros_like(t)
        for _ in range(2):
            f = rng.uniform(0.2, 1.2)
            ph = rng.uniform(0, 2 * math.pi)
            a = amp * rng.uniform(0.3, 0.7)
            out += a * (np.sin(2 * math.pi * f * t + ph) - math.sin(ph))
        return out

    theta = np.deg2rad(wave(rotation_deg))
    tx, ty = wave(shift_px), wave(shift_px * 0.7)
    c, s = np.cos(theta), np.sin(theta)
    cx, cy = centre
    out = np.zeros((len(t), 2, 3))
    out[:, 0, 0], out[:, 0, 1] = c, -s
    out[:, 1, 0], out[:, 1, 1] = s, c
    out[:, 0, 2] = cx - c * cx + s * cy + tx
    out[:, 1, 2] = cy - s * cx - c * cy + ty
    return np.round(out, 6)


def blink_track(rng: np.random.Generator, n_frames: int, fps: float, rate_per_s: float) -> np.ndarray:
    """Eyelid closure 0..1 per frame: Poisson blinks (fast close, slower open, 100-250 ms), never in frame 0
    so that the clip's first frame is the neutral reference."""
    out = np.zeros(n_frames)
    seconds = n_frames / fps
    for _ in range(int(rng.poisson(rate_per_s * seconds))):
        dur = rng.uniform(0.10, 0.25) * fps
        start = rng.uniform(1, max(1.0, n_frames - 1))
        apex = start + dur * rng.uniform(0.3, 0.4)
        depth = rng.uniform(0.6, 1.0)
        f = np.arange(n_frames, dtype=float)
        rise = (f > start) & (f <= apex)
        fall = (f > apex) & (f < start + dur)
        prof = np.zeros(n_frames)
        prof[rise] = 0.5 - 0.5 * np.cos(np.pi * (f[rise] - start) / (apex - start))
        prof[fall] = 0.5 + 0.5 * np.cos(np.pi * (f[fall] - apex) / (start + dur - apex))
        out = np.maximum(out, depth * prof)
    out[0] = 0.0
    return np.round(out, 4)


def flicker_gain(rng: np.random.Generator, times: np.ndarray, amplitude: float) -> np.ndarray:
    """Per-frame illumination gain: mains flicker (100 or 120 Hz, aliased by the frame rate) plus slow drift."""
    t = np.asarray(times, float)
    mains = 100.0 if rng.random() < 0.5 else 120.0
    ph = rng.uniform(0, 2 * math.pi)
    drift_f = rng.uniform(0.1, 0.5)
    g = 1 + amplitude * (0.7 * np.sin(2 * math.pi * mains * t + ph)
                         + 0.3 * np.sin(2 * math.pi * drift_f * t + rng.uniform(0, 2 * math.pi)))
    return np.round(g, 5)


def clip_pose(rng: np.random.Generator, size: int, centre: tuple[float, float], scale: float) -> np.ndarray:
    """Where the head sits in one clip (2x3): a few pixels of shift, a couple of degrees of tilt, a few percent
    of scale, so that clips of one subject need aligning."""
    th = np.deg2rad(rng.uniform(-2.5, 2.5) * scale)
    sc = 1 + rng.uniform(-0.04, 0.04) * scale
    dx, dy = rng.uniform(-0.025, 0.025, 2) * size * scale
    c, s = math.cos(th) * sc, math.sin(th) * sc
    cx, cy = centre
    return np.round(np.array([[c, -s, cx - c * cx + s * cy + dx], [s, c, cy - s * cx - c * cy + dy]]), 6)
