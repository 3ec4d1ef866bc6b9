"""Where things live: the harness home (store, cache, default corpus), data roots, built-in folders."""
from __future__ import annotations

import os
from pathlib import Path

from harness.errors import BadInput

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
SHIPPED_DIR = PACKAGE_DIR / "_shipped"   # in an installed wheel: the checkout's protocols/, baselines/, submissions/


def harness_home() -> Path:
    """Results store, preprocessing cache and the default synthetic corpus live here (env HARNESS_HOME)."""
    home = os.environ.get("HARNESS_HOME")
    return Path(home).expanduser().resolve() if home else Path.home() / ".harness"


def default_synthetic_root() -> Path:
    return harness_home() / "synthetic"


def store_path() -> Path:
    return Path(os.environ.get("HARNESS_STORE", harness_home() / "results.sqlite"))


def cache_dir() -> Path:
    return Path(os.environ.get("HARNESS_CACHE", harness_home() / "cache"))


def resolve_data_root(data_root: str | os.PathLike | None) -> Path:
    """--data-root, else HARNESS_DATA_ROOT, else the embedded synthetic corpus."""
    chosen = data_root or os.environ.get("HARNESS_DATA_ROOT")
    root = Path(chosen).expanduser().resolve() if chosen else default_synthetic_root()
    if not root.is_dir():
        if chosen:
            raise BadInput(f"data root {root} is not a directory (from --data-root or HARNESS_DATA_ROOT)")
        raise BadInput(
            f"no data root given and the synthetic corpus {root} does not exist yet: "
            f"run `harness data synth --like all --out {root}` or pass --data-root DIR"
        )
    return root


def leaderboard_dir(store: Path | None = None) -> Path:
    """Where boards rendered from `store` (default: the store in use) are written.

    HARNESS_LEADERBOARD_DIR if set; else the checkout's committed leaderboard/ folder, but only for the checkout's
    own store (a store directly in <checkout>/.harness, which `python3 dev.py` uses); else HARNESS_HOME/leaderboard.
    Boards mirror one store, so a run against another store (a scratch HARNESS_HOME, a participant's home, a work
    home in a folder below <checkout>/.harness) never overwrites the committed boards.
    """
    env = os.environ.get("HARNESS_LEADERBOARD_DIR")
    if env:
        return Path(env)
    repo = REPO_ROOT / "leaderboard"
    own_store = Path(store or store_path()).resolve().parent == (REPO_ROOT / ".harness").resolve()
    return repo if own_store and repo.is_dir() and os.access(repo, os.W_OK) else harness_home() / "leaderboard"


def builtin_dir(name: str) -> Path:
    """A top-level folder of the repository (protocols/, baselines/, submissions/, leaderboard/): in a checkout
    (or an editable install) the folder itself; in an installed wheel its packaged copy (setup.py)."""
    shipped = SHIPPED_DIR / name
    return shipped if shipped.exists() else REPO_ROOT / name
