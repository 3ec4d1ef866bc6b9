"""Which bundles may run with --fold-batched: those reviewed here, by name and exact code.

Fold-batched training hands one process every sample's label (each sample is a training sample of some other
fold), so "held-out labels never reach a submission" does not hold for it; it is meant for bundles whose code
has been read. A folder location proves nothing (participants add folders under submissions/), so the list,
`reviewed-bundles.yaml` beside this file, pins each reviewed bundle's code hash: any change to the bundle's
files needs a new review (print the hash with `harness submit BUNDLE --fold-batched ...`, which names it when it
refuses). `--trust-bundle` runs an unreviewed one anyway; provenance and the board say so.
"""
from __future__ import annotations

from pathlib import Path

REVIEWED = Path(__file__).with_name("reviewed-bundles.yaml")


def reviewed(name: str, code_hash: str) -> bool:
    import yaml

    entries = yaml.safe_load(REVIEWED.read_text(encoding="utf-8")) or []
    return any(isinstance(e, dict) and e.get("name") == name and e.get("code_hash") == code_hash for e in entries)
