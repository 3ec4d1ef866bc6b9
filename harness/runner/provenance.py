"""Provenance: what produced a number (code, versions, platform), recorded with every result."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from harness import __version__
from harness.fsutil import tree_hash
from harness.paths import PACKAGE_DIR, REPO_ROOT

PACKAGES = ("numpy", "pandas", "scikit-learn", "scipy", "torch", "opencv-contrib-python-headless", "mediapipe",
            "click", "tabulate")


@lru_cache(maxsize=1)
def harness_code_hash() -> str:
    """Identity of the harness's own code (preprocessing, scoring...): part of a run's identity."""
    return tree_hash(PACKAGE_DIR, (".py", ".yaml"))


@lru_cache(maxsize=1)
def git_info() -> dict:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(dirty) if dirty is not None else None}


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for p in PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = None
    return out


def basic_provenance() -> dict:
    return {
        "harness_version": __version__,
        "harness_code": harness_code_hash(),
        "git": git_info(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": package_versions(),
    }
