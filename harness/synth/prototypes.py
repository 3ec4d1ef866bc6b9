"""Emotion -> action-unit combinations, after the FACS/EMFACS prototypes, with the variability of real MEs.

A micro-expression rarely shows a full prototype: usually one or two of its AUs, sometimes one-sided, sometimes
with an AU from outside it. So each prototype is a choice of *core* AU groups (one is always shown) plus
*optional* AUs with their own chances; `extra_aus` adds AUs from a common pool to any class and `unilateral`
makes AUs one-sided. Classes therefore overlap the way real ones do (anger and disgust share AU4, fear and
surprise share AU1+2, happiness and contempt share AU12, `others` can show anything).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.synth.aus import can_be_unilateral, split_name


@dataclass(frozen=True)
class Prototype:
    core: tuple[tuple[tuple[str, ...], float], ...]  # AU groups, one chosen by weight
    optional: tuple[tuple[str, float], ...] = ()     # AU, chance
    unilateral: float | None = None                  # overrides the config's chance (contempt is one-sided)


PROTOTYPES: dict[str, Prototype] = {
    "happiness": Prototype(core=((("12",), 0.7), (("6", "12"), 0.2), (("6",), 0.1)),
                           optional=(("6", 0.35), ("25", 0.15), ("10", 0.1))),
    "surprise": Prototype(core=((("1", "2"), 0.5), (("1",), 0.15), (("2",), 0.15), (("5",), 0.2)),
                          optional=(("5", 0.3), ("26", 0.25), ("25", 0.2))),
    "sadness": Prototype(core=((("15",), 0.45), (("1", "4"), 0.25), (("17",), 0.15), (("1",), 0.15)),
                         optional=(("4", 0.3), ("17", 0.3), ("15", 0.2), ("24", 0.15))),
    "anger": Prototype(core=((("4",), 0.55), (("4", "7"), 0.2), (("23",), 0.15), (("24",), 0.1)),
                       optional=(("7", 0.3), ("5", 0.15), ("17", 0.2), ("23", 0.15), ("10", 0.1))),
    "disgust": Prototype(core=((("9",), 0.3), (("10",), 0.25), (("4",), 0.3), (("4", "7"), 0.15)),
                         optional=(("4", 0.3), ("7", 0.25), ("15", 0.15), ("17", 0.2), ("25", 0.1))),
    "fear": Prototype(core=((("1", "2", "4"), 0.35), (("20",), 0.25), (("1", "4"), 0.2), (("4", "5"), 0.2)),
                      optional=(("5", 0.3), ("7", 0.2), ("20", 0.25), ("26", 0.15), ("2", 0.15))),
    "contempt": Prototype(core=((("14",), 0.6), (("12",), 0.25), (("12", "14"), 0.15)),
                          optional=(("14", 0.2),), unilateral=0.85),
    "repression": Prototype(core=((("14",), 0.3), (("17",), 0.25), (("24",), 0.25), (("15",), 0.2)),
                            optional=(("17", 0.3), ("24", 0.25), ("14", 0.2), ("23", 0.15))),
    # `others`: one AU from the common pool, sometimes two
    "others": Prototype(core=(), optional=()),
}

# AUs seen across classes in the real annotation files, with rough frequencies (extras and `others`)
COMMON_POOL: tuple[tuple[str, float], ...] = (
    ("4", 0.22), ("7", 0.1), ("1", 0.08), ("2", 0.06), ("14", 0.08), ("17", 0.08), ("24", 0.06), ("10", 0.06),
    ("12", 0.06), ("15", 0.05), ("6", 0.04), ("25", 0.03), ("5", 0.03), ("9", 0.02), ("20", 0.02), ("23", 0.01),
)

# Objective classes (Davison et al. 2018), first matching rule wins: (class, AUs that must all be present)
OBJECTIVE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("VI", ("1", "2", "4")), ("VI", ("20",)), ("I", ("6", "12")), ("I", ("12",)), ("I", ("6",)),
    ("IV", ("9",)), ("IV", ("10",)), ("II", ("1", "2")), ("II", ("5",)), ("II", ("25",)), ("II", ("26",)),
    ("III", ("4",)), ("III", ("7",)), ("III", ("23",)), ("III", ("24",)), ("V", ("1",)), ("V", ("15",)),
)


def _pick(rng: np.random.Generator, items, weights) -> object:
    w = np.asarray(weights, float)
    return items[int(rng.choice(len(items), p=w / w.sum()))]


def sample_aus(rng: np.random.Generator, emotion: str, extra_aus: float, unilateral: float) -> list[str]:
    """AU names (e.g. ['4', 'L12']) shown by one micro-expression driven by `emotion`'s prototype."""
    proto = PROTOTYPES[emotion]
    pool_names = [a for a, _ in COMMON_POOL]
    pool_w = [w for _, w in COMMON_POOL]
    chosen: list[str] = []
    if proto.core:
        chosen += list(_pick(rng, [g for g, _ in proto.core], [w for _, w in proto.core]))  # type: ignore[arg-type]
    else:  # others
        chosen.append(str(_pick(rng, pool_names, pool_w)))
        if rng.random() < 0.4:
            chosen.append(str(_pick(rng, pool_names, pool_w)))
    for au, p in proto.optional:
        if rng.random() < p:
            chosen.append(au)
    for _ in range(int(rng.poisson(extra_aus))):
        chosen.append(str(_pick(rng, pool_names, pool_w)))
    numbers = list(dict.fromkeys(chosen))  # unique, in order
    p_uni = unilateral if proto.unilateral is None else proto.unilateral
    side = "L" if rng.random() < 0.5 else "R"  # one-sided AUs of one expression share a side
    out = []
    for n in numbers:
        if can_be_unilateral(n) and rng.random() < p_uni:
            out.append(f"{side}{n}")
        else:
            out.append(n)
    return out


def objective_class(aus: list[str]) -> str:
    """Objective class I..VII from the AUs shown (VII when no rule matches, e.g. one-sided 14)."""
    bilateral = {split_name(a)[1] for a in aus if split_name(a)[0] is None}
    for cls, need in OBJECTIVE_RULES:
        if all(n in bilateral for n in need):
            return cls
    return "VII"
