"""Dataset adapters, one per official release, behind a registry keyed by the data-root folder name.

Every module of `harness/datasets/adapters/` is an adapter, registered lazily under its file name (listing the
keys imports nothing): adding a dataset is one file there, whose `ADAPTER` owns everything about its release
(reading and writing its layout, its sample-id rule, its official counts, its synthetic layout).
"""
from __future__ import annotations

from pathlib import Path

from harness.datasets.adapters import ADAPTERS

__all__ = ["ADAPTERS", "get_adapter", "load_dataset"]


def get_adapter(key: str):
    return ADAPTERS.get(key)()


def load_dataset(data_root: Path, key: str, check_frames: bool = True, options=None):
    """Load DATA_ROOT/<key> with its adapter; returns a LoadResult (table + every problem found).
    `options` (harness.datasets.policy.LoadOptions) choose the errata and --strict."""
    from harness.datasets.policy import DEFAULT
    from harness.errors import BadInput

    adapter = get_adapter(key)
    root = Path(data_root) / key
    if not root.is_dir():
        raise BadInput(f"dataset folder {root} does not exist: the data root must hold one folder per dataset "
                       f"named by its key ({', '.join(ADAPTERS.names())})")
    return adapter.load(root, check_frames=check_frames, options=options or DEFAULT, data_root=Path(data_root))
