"""A bundle's code, imported as a private package named after its code hash (two bundles may both have a
`model.py`), and its entry point built from a profile's config. Runs in the fold's bundle process (tests and
benchmarks use it too)."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

from harness.bundles.manifest import Bundle
from harness.errors import BadInput


def import_module(bundle: Bundle, name: str):
    """Import the bundle's module `name` as part of its private package (tests and benchmarks use this too)."""
    pkg = bundle.package
    if pkg not in sys.modules:
        spec = importlib.util.spec_from_loader(pkg, loader=None, is_package=True)
        package = importlib.util.module_from_spec(spec)
        package.__path__ = [str(bundle.path)]
        sys.modules[pkg] = package
    return importlib.import_module(f"{pkg}.{name}")


def instantiate(bundle: Bundle, config: dict[str, Any]):
    """Import the bundle's entry point as a private package and build the submission from `config`."""
    mod_name, attr = bundle.entry_point.split(":")
    try:
        module = import_module(bundle, mod_name)
    except Exception as exc:
        raise BadInput(f"bundle {bundle.name}: importing {mod_name!r} failed: {type(exc).__name__}: {exc}") from exc
    factory = getattr(module, attr, None)
    if factory is None:
        raise BadInput(f"bundle {bundle.name}: {mod_name}.py has no {attr!r} (entry_point)")
    try:
        submission = factory(**config)
    except TypeError as exc:
        raise BadInput(f"bundle {bundle.name}: the profile's config does not fit {attr}: {exc}") from exc
    for method in ("fit", "predict"):
        if not callable(getattr(submission, method, None)):
            raise BadInput(f"bundle {bundle.name}: {attr} has no {method}() method")
    return submission
