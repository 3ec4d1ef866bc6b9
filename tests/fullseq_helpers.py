"""Import the fullseq-transformer bundle's modules the way the runner does (as a private package)."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

BUNDLE_DIR = Path(__file__).resolve().parents[1] / "submissions" / "fullseq-transformer"


def bundle_module(name: str):
    from harness.runner.bundle import load_bundle

    bundle = load_bundle(BUNDLE_DIR)
    pkg = bundle.package
    if pkg not in sys.modules:
        spec = importlib.util.spec_from_loader(pkg, loader=None, is_package=True)
        module = importlib.util.module_from_spec(spec)
        module.__path__ = [str(bundle.path)]
        sys.modules[pkg] = module
    return importlib.import_module(f"{pkg}.{name}")
