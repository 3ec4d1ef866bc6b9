"""Protocol registry: one YAML file per protocol in `protocols/` (plus any folder in HARNESS_PROTOCOLS_PATH).

Listing reads only the files' names and a few fields; an unknown name gets "did you mean ...".
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from harness.paths import builtin_dir
from harness.protocols.model import Protocol, parse_protocol
from harness.registry import UnknownName, suggest


def protocol_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("HARNESS_PROTOCOLS_PATH", "").split(os.pathsep) if p]
    return [builtin_dir("protocols"), *extra]


def _files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in protocol_dirs():
        if d.is_dir():
            for f in sorted(d.glob("*.yaml")):
                found.setdefault(f.stem, f)
    return found


def protocol_names() -> list[str]:
    return sorted(_files())


@lru_cache(maxsize=64)
def _load(path: Path, mtime_ns: int) -> Protocol:
    from harness.errors import BadInput
    from harness.schema import read_yaml

    proto = parse_protocol(read_yaml(path, "protocol file", hint="fields name, version, datasets, classes, label_map, split, ..."), path)
    if proto.name != path.stem:
        raise BadInput(f"{path}: field name {proto.name!r} must equal the file name {path.stem!r}")
    return proto


def get_protocol(name: str) -> Protocol:
    files = _files()
    if name not in files:
        raise UnknownName(suggest(name, list(files), "protocol"))
    path = files[name]
    return _load(path, path.stat().st_mtime_ns)
