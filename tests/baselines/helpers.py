"""Import a module of a shipped baseline (folders like `lbp-top` are not importable by name) the way the runner
does: as a private package named after the bundle's code hash."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def bundle_module(folder: str, module: str):
    from harness.bundles.loader import import_module
    from harness.bundles.manifest import load_bundle

    return import_module(load_bundle(REPO / "baselines" / folder), module)
