"""Frozen, validated configurations. Every field that changes a result is part of the cache key.

`FaceConfig` says how a clip's face is cropped and stabilised, `FlowConfig` which flow algorithm runs with
which parameters and at what output size, `SpotConfig` how an apex is spotted when none is annotated.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from harness.errors import BadInput

#: Drift correction modes: none; a translation per frame (He et al.'s nose-region correction); or a
#: similarity (translation, rotation, scale) per frame, fitted on the same stable region.
DRIFT_MODES = ("none", "translation", "similarity")


def _suggest(value: str, choices, kind: str) -> BadInput:
    from harness.registry import suggest

    return BadInput(suggest(value, list(choices), kind))


@dataclass(frozen=True)
class FaceConfig:
    """How the face of a clip is found, cropped and stabilised.

    size: side of the aligned square face, pixels (every frame of the clip is warped into it).
    margin: extra border around the canonical brow-to-chin box, as a fraction of it (0.1 = 10 % wider).
    drift: rigid head-motion correction per frame, measured on the nose bridge against the onset frame.
    drift_iterations: measure-and-correct rounds per frame (He et al. use up to 3).
    detect_tries: frames tried for landmarks, from the onset on, before the clip counts as faceless.
    """

    size: int = 128
    margin: float = 0.1
    drift: str = "similarity"
    drift_iterations: int = 2
    detect_tries: int = 3

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or not 16 <= self.size <= 1024:
            raise BadInput(f"FaceConfig.size must be an int in [16, 1024], got {self.size!r}")
        if not 0.0 <= float(self.margin) <= 2.0:
            raise BadInput(f"FaceConfig.margin must be in [0, 2], got {self.margin!r}")
        object.__setattr__(self, "margin", float(self.margin))
        if self.drift not in DRIFT_MODES:
            raise _suggest(self.drift, DRIFT_MODES, "drift mode")
        if not isinstance(self.drift_iterations, int) or not 1 <= self.drift_iterations <= 10:
            raise BadInput(f"FaceConfig.drift_iterations must be an int in [1, 10], got {self.drift_iterations!r}")
        if not isinstance(self.detect_tries, int) or self.detect_tries < 1:
            raise BadInput(f"FaceConfig.detect_tries must be an int >= 1, got {self.detect_tries!r}")

    def geometry(self) -> dict[str, Any]:
        """The fields that decide the crop (not the per-frame stabilisation)."""
        return {"size": self.size, "margin": self.margin, "detect_tries": self.detect_tries}


@dataclass(frozen=True)
class FlowConfig:
    """A flow algorithm and its parameters. `params` accepts a dict; unknown names get "did you mean".

    backend: "dis" (default), "farneback" or "tvl1" (see `harness.preprocess.flow.BACKENDS`).
    size: side of the returned flow map in pixels; None = the face size. Flow is always computed on the
        aligned face at `FaceConfig.size` and then area-resized, vectors rescaled to the new pixels.
    params: overrides of the backend's defaults, e.g. {"preset": "fast"} (DIS) or {"nscales": 3} (TV-L1).
    """

    backend: str = "dis"
    size: int | None = None
    params: Mapping[str, Any] = field(default=())

    def __post_init__(self) -> None:
        from harness.preprocess.flow import BACKENDS

        be = BACKENDS.get(self.backend)  # did-you-mean on a typo
        if self.size is not None and (not isinstance(self.size, int) or not 4 <= self.size <= 1024):
            raise BadInput(f"FlowConfig.size must be None or an int in [4, 1024], got {self.size!r}")
        given = dict(self.params)
        for name, value in given.items():
            if name not in be.defaults:
                raise _suggest(name, be.defaults, f"{self.backend} parameter")
            default = be.defaults[name]
            if default is None and name in be.types and value is not None:
                default = be.types[name]()  # a value of the parameter's type, for the checks below
            if name in be.choices and value not in be.choices[name]:
                raise _suggest(str(value), be.choices[name], f"{self.backend} {name}")
            if value is not None and default is not None and not _same_kind(value, default):
                raise BadInput(f"{self.backend} parameter {name} must be {type(default).__name__}, got {value!r}")
            if isinstance(default, float) and value is not None:
                given[name] = float(value)
        object.__setattr__(self, "params", tuple(sorted(given.items())))

    def resolved(self) -> dict[str, Any]:
        """Backend defaults overlaid with `params` (None entries mean the algorithm's own default)."""
        from harness.preprocess.flow import BACKENDS

        return {**BACKENDS.get(self.backend).defaults, **dict(self.params)}

    def canonical(self) -> dict[str, Any]:
        """What identifies the result: two configs that compute the same thing give the same dict."""
        params = {k: v for k, v in self.resolved().items() if v is not None}
        return {"backend": self.backend, "size": self.size, "params": params}


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(default))


#: The flow that measures rigid head motion on the nose bridge for drift correction: DIS "medium" (about
#: 0.2 ms on that small window; the residual it leaves is tested in tests/preprocess/test_preprocess_align.py).
DRIFT_FLOW = FlowConfig("dis", params={"preset": "medium"})


@dataclass(frozen=True)
class SpotConfig:
    """How the apex is spotted when the annotation has none (SMIC) or the protocol hides it.

    The apex is the frame whose facial-region motion relative to the onset frame is largest (robust mean flow
    of each AU region minus the nose-bridge motion, averaged over regions, smoothed over `smooth` frames).
    """

    face: FaceConfig = FaceConfig(size=64)  # spotting needs where motion peaks, not fine detail
    flow: FlowConfig = FlowConfig()
    smooth: int = 3
    top_p: float = 0.3

    def __post_init__(self) -> None:
        if not isinstance(self.smooth, int) or self.smooth < 1:
            raise BadInput(f"SpotConfig.smooth must be an int >= 1, got {self.smooth!r}")
        if not 0.0 < float(self.top_p) <= 1.0:
            raise BadInput(f"SpotConfig.top_p must be in (0, 1], got {self.top_p!r}")


def canonical(obj: Any) -> Any:
    """A JSON-ready, order-independent form of a config (or nested value) for cache keys."""
    if isinstance(obj, FlowConfig):
        return obj.canonical()
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: canonical(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): canonical(v) for k, v in sorted(obj.items())}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if isinstance(obj, float):
        return repr(obj)
    return obj
