"""One module per official release; the module's name is the dataset's key (the data-root folder name) and its
`ADAPTER` the adapter class. Adding a dataset is adding one module here: it is registered lazily under its file
name (listing the keys imports nothing)."""
from __future__ import annotations

from pathlib import Path

from harness.registry import Registry

ADAPTERS: Registry = Registry("dataset")
for _module in sorted(Path(__file__).parent.glob("[!_]*.py")):
    ADAPTERS.register(_module.stem, f"harness.datasets.adapters.{_module.stem}:ADAPTER")
