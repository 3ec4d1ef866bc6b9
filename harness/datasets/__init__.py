"""Dataset adapters, one per official release, behind a registry keyed by the data-root folder name."""
from __future__ import annotations

from pathlib import Path

from harness.registry import Registry

ADAPTERS: Registry = Registry("dataset")
ADAPTERS.register("dfme", "harness.datasets.dfme:Dfme")
ADAPTERS.register("casme3", "harness.datasets.casme3:Casme3")
ADAPTERS.register("casme2", "harness.datasets.casme2:Casme2")
ADAPTERS.register("samm", "harness.datasets.samm:Samm")
ADAPTERS.register("smic", "harness.datasets.smic:Smic")


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
