"""Import the fullseq-transformer bundle's modules the way the runner does (as a private package)."""
from __future__ import annotations

from pathlib import Path

BUNDLE_DIR = Path(__file__).resolve().parents[1] / "submissions" / "fullseq-transformer"


def bundle_module(name: str):
    from harness.bundles.loader import import_module
    from harness.bundles.manifest import load_bundle

    return import_module(load_bundle(BUNDLE_DIR), name)
