"""Import a module of a shipped bundle (folders like `lbp-top` are not importable by name) the way the runner
does: as a private package named after the bundle's code hash."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def bundle_module(folder: str, module: str):
    from harness.runner.bundle import load_bundle

    bundle = load_bundle(REPO / "baselines" / folder)
    pkg = bundle.package
    if pkg not in sys.modules:
        spec = importlib.util.spec_from_loader(pkg, loader=None, is_package=True)
        package = importlib.util.module_from_spec(spec)
        package.__path__ = [str(bundle.path)]
        sys.modules[pkg] = package
    return importlib.import_module(f"{pkg}.{module}")
