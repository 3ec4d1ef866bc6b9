"""FACS action units as smooth local displacement fields anchored on the facial feature each one moves.

Each AU is a sum of anisotropic Gaussian "pushes": a centre on a named landmark (face.landmarks), a direction and
a size in face widths. Directions of sided components are (lateral, vertical): lateral > 0 points away from the
midline, vertical > 0 points down. A unilateral variant (L12, R14) keeps one side's components only; AUs with a
midline component (17, 26) have no unilateral variant. Fields are normalised so that the strongest pixel moves
by exactly one pixel at intensity 1; the corpus multiplies by `amplitude` (px).

Why hand-written: no maintained library gives dense FACS displacement fields; the table is a coarse reading of
the FACS manual's appearance changes (which feature moves, which way), not a muscle model.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from harness.synth.face import SIDES


@dataclass(frozen=True)
class Push:
    anchor: str                 # landmark name; sided anchors get the _L / _R suffix
    direction: tuple[float, float]
    sigma: tuple[float, float]  # (x, y) in face widths
    sided: bool = True


P = Push
# AU number -> pushes (the appearance changes of the FACS manual, reduced to where and which way skin moves)
AU_TABLE: dict[str, tuple[Push, ...]] = {
    "1": (P("brow_in", (0.0, -1.0), (0.07, 0.07)), P("brow_mid", (0.0, -0.35), (0.06, 0.06))),
    "2": (P("brow_out", (0.0, -1.0), (0.07, 0.07)), P("brow_mid", (0.0, -0.5), (0.06, 0.06))),
    "4": (P("brow_in", (-0.5, 0.85), (0.07, 0.06)), P("brow_mid", (-0.2, 0.5), (0.06, 0.05))),
    "5": (P("upper_lid", (0.0, -1.0), (0.06, 0.03)),),
    "6": (P("cheek", (0.1, -1.0), (0.09, 0.07)), P("lower_lid", (0.0, -0.5), (0.06, 0.03)),
          P("eye_out", (-0.3, -0.2), (0.04, 0.04))),
    "7": (P("lower_lid", (0.0, -1.0), (0.06, 0.025)), P("upper_lid", (0.0, 0.35), (0.06, 0.025))),
    "9": (P("nose_wing", (-0.2, -1.0), (0.05, 0.06)), P("nasolabial", (0.0, -0.5), (0.05, 0.07)),
          P("brow_in", (0.0, 0.35), (0.06, 0.05))),
    "10": (P("upper_lip", (0.0, -1.0), (0.07, 0.035)), P("nasolabial", (0.1, -0.5), (0.05, 0.06))),
    "12": (P("lip_corner", (0.6, -0.8), (0.06, 0.05)), P("nasolabial", (0.3, -0.4), (0.06, 0.07)),
           P("cheek", (0.0, -0.3), (0.08, 0.07))),
    "14": (P("lip_corner", (-0.85, -0.15), (0.045, 0.04)),),
    "15": (P("lip_corner", (0.05, 1.0), (0.055, 0.05)),),
    "17": (P("chin", (0.0, -1.0), (0.12, 0.06), False), P("lower_lip", (0.0, -0.6), (0.12, 0.03), False)),
    "20": (P("lip_corner", (1.0, 0.2), (0.06, 0.045)),),
    "23": (P("lip_corner", (-0.7, 0.0), (0.05, 0.04)), P("upper_lip", (0.0, 0.3), (0.05, 0.025)),
           P("lower_lip", (0.0, -0.3), (0.05, 0.025))),
    "24": (P("upper_lip", (0.0, 0.5), (0.06, 0.025)), P("lower_lip", (0.0, -0.7), (0.06, 0.025))),
    "25": (P("lower_lip", (0.0, 0.8), (0.07, 0.03)), P("upper_lip", (0.0, -0.3), (0.06, 0.025))),
    "26": (P("chin", (0.0, 1.0), (0.2, 0.1), False), P("lower_lip", (0.0, 0.7), (0.14, 0.04), False)),
    "45": (P("upper_lid", (0.0, 1.0), (0.06, 0.035)),),
}
BLINK = "45"
_NAME = re.compile(r"^(L|R)?(\d+)$")


def split_name(name: str) -> tuple[str | None, str]:
    """'L12' -> ('L', '12'); '4' -> (None, '4'). Raises ValueError for names outside the table."""
    m = _NAME.match(name.strip().upper())
    if not m or m.group(2) not in AU_TABLE:
        raise ValueError(f"unknown action unit {name!r}; known: {', '.join(AU_TABLE)} (prefix L/R for one side)")
    side, number = m.group(1), m.group(2)
    if side and not can_be_unilateral(number):
        raise ValueError(f"AU{number} has a midline component and no unilateral variant")
    return side, number


def can_be_unilateral(number: str) -> bool:
    return all(p.sided for p in AU_TABLE[number])


def all_names() -> list[str]:
    """Every AU name the generator knows, bilateral and one-sided."""
    out = []
    for n in AU_TABLE:
        out.append(n)
        if can_be_unilateral(n):
            out += [f"L{n}", f"R{n}"]
    return out


def au_sort_key(name: str) -> tuple[int, str]:
    side, number = split_name(name)
    return int(number), side or ""


def format_aus(names: list[str]) -> str:
    """The annotation's AU string, e.g. '4+7' or 'L12+R14'."""
    return "+".join(sorted(names, key=au_sort_key))


def components(name: str, landmarks: dict[str, np.ndarray], unit: float, pose: np.ndarray | None = None
               ) -> np.ndarray:
    """(n, 6) rows [cx, cy, vx, vy, sx, sy] in pixels for AU `name` on a face, before normalisation.

    `landmarks` are canonical; `pose` (2x3) places them for a clip (centres move, directions rotate, sizes
    scale), which keeps the Gaussians axis-aligned: fine for the few degrees of tilt a clip gets.
    """
    side, number = split_name(name)
    a = np.eye(2) if pose is None else np.asarray(pose, float)[:, :2]
    t = np.zeros(2) if pose is None else np.asarray(pose, float)[:, 2]
    scale = float(np.sqrt(abs(np.linalg.det(a))))
    rows = []
    for push in AU_TABLE[number]:
        sides = ([side] if side else list(SIDES)) if push.sided else [None]
        for s in sides:
            c = landmarks[f"{push.anchor}_{s}" if s else push.anchor]
            d = np.array(push.direction, float)
            if s:
                d = np.array([SIDES[s] * d[0], d[1]])
            d = d / max(np.hypot(*d), 1e-9) * np.hypot(*push.direction)
            rows.append([*(a @ c + t), *(a @ d), push.sigma[0] * unit * scale, push.sigma[1] * unit * scale])
    return np.array(rows, dtype=np.float64)


def evaluate(comps: np.ndarray, height: int, width: int) -> np.ndarray:
    """Dense (H, W, 2) float32 displacement of a sum of Gaussian pushes (separable: outer products)."""
    xs = np.arange(width, dtype=np.float64)
    ys = np.arange(height, dtype=np.float64)
    out = np.zeros((height, width, 2), np.float64)
    for cx, cy, vx, vy, sx, sy in np.asarray(comps, float).reshape(-1, 6):
        g = np.outer(np.exp(-0.5 * ((ys - cy) / sy) ** 2), np.exp(-0.5 * ((xs - cx) / sx) ** 2))
        out[..., 0] += vx * g
        out[..., 1] += vy * g
    return out.astype(np.float32)


def unit_components(name: str, landmarks: dict[str, np.ndarray], unit: float, size: int,
                    pose: np.ndarray | None = None) -> np.ndarray:
    """Components scaled so that the field's largest displacement is one pixel (rounded for storage, so
    that the renderer and the stored truth use the very same numbers)."""
    comps = components(name, landmarks, unit, pose)
    peak = float(np.hypot(*np.moveaxis(evaluate(comps, size, size), -1, 0)).max())
    comps[:, 2:4] /= max(peak, 1e-9)
    return np.round(comps, 5)
