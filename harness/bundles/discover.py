"""Shipped bundles (baselines/ and submissions/ of the installation), found by folder name, and resolving what a
user names: a bundle folder, or a shipped bundle's name."""
from __future__ import annotations

from pathlib import Path

from harness.bundles.manifest import MANIFEST
from harness.errors import BadInput


def bundle_search_dirs() -> list[Path]:
    from harness.paths import builtin_dir

    return [builtin_dir("baselines"), builtin_dir("submissions")]


def discover_bundles() -> dict[str, Path]:
    """Bundles shipped in baselines/ and submissions/, by folder name."""
    found = {}
    for d in bundle_search_dirs():
        if d.is_dir():
            for sub in sorted(d.iterdir()):
                if (sub / MANIFEST).is_file():
                    found.setdefault(sub.name, sub)
    return found


def resolve_bundle(ref: str) -> Path:
    """A bundle folder path, or the name of a shipped bundle ("lbp-top")."""
    p = Path(ref)
    if p.is_dir():
        return p
    shipped = discover_bundles()
    if ref in shipped:
        return shipped[ref]
    from harness.registry import suggest

    raise BadInput(f"{ref} is neither a bundle folder nor a shipped bundle: " + suggest(ref, list(shipped), "bundle"))
