"""Which bundles may run with --fold-batched: those reviewed here, by name and exact code.

Fold-batched training hands one process every sample's label (each sample is a training sample of some other
fold), so "held-out labels never reach a submission" does not hold for it; it is meant for bundles whose code
has been read. A folder location proves nothing (participants add folders under submissions/), so the list,
`reviewed-bundles.yaml` beside this file, pins each reviewed bundle's code hash: any change to the bundle's
files needs a new review (print the hash with `harness submit BUNDLE --fold-batched ...`, which names it when it
refuses). `--trust-bundle` runs an unreviewed one anyway; provenance and the board say so.
"""
from __future__ import annotations

import re
from pathlib import Path

REVIEWED = Path(__file__).with_name("reviewed-bundles.yaml")
_HASH = re.compile(r"^[0-9a-f]{64}$")


def reviewed_entries(path: Path = REVIEWED) -> list[tuple[str, str]]:
    """(name, code hash) of every review in the list, validated (harness.schema): a malformed entry is an error,
    never an entry silently skipped."""
    from harness.errors import raise_if_errors
    from harness.schema import Fields, read_yaml

    data = read_yaml(path, "reviewed-bundles list", shape=list, hint="a list of {name, code_hash, reviewed}")
    problems: list = []
    out = []
    for i, item in enumerate(data):
        e = Fields(path, item, "review", at=f"[{i}]", problems=problems)
        e.refuse_unknown(("name", "code_hash", "reviewed"))
        name = e.get("name")
        code_hash = e.get("code_hash", check=lambda h: None if _HASH.match(h) else "must be 64 hex digits",
                          hint="the hash `harness submit BUNDLE --fold-batched` names when it refuses")
        e.get("reviewed", hint="who read the code, and what they checked")
        if name and code_hash:
            out.append((name, code_hash))
    raise_if_errors(problems, f"reviewed-bundles list {path} is invalid")
    return out


def reviewed(name: str, code_hash: str) -> bool:
    return (name, code_hash) in reviewed_entries()
