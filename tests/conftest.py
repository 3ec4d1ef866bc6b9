"""Shared fixtures: every test gets its own HARNESS_HOME (store, cache) and no ambient data root."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def harness_home(tmp_path, monkeypatch):
    home = tmp_path / "harness-home"
    home.mkdir()
    monkeypatch.setenv("HARNESS_HOME", str(home))
    monkeypatch.setenv("HARNESS_LEADERBOARD_DIR", str(home / "leaderboard"))
    for var in ("HARNESS_DATA_ROOT", "HARNESS_STORE", "HARNESS_CACHE", "HARNESS_PROTOCOLS_PATH"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="module")
def small_root(tmp_path_factory) -> Path:
    """A small data root of all five datasets in their official formats (tests/formats.py)."""
    from tests import formats as F

    return F.write_small_root(tmp_path_factory.mktemp("small"))


@pytest.fixture(scope="session")
def official_root(tmp_path_factory) -> Path:
    """The five datasets with the real composition of their official annotation files, contradicting rows and all
    (tests/official_releases.py), written once per session: placeholder frames for CAS(ME)^3, CASME II and SAMM
    (whose key frames `harness data check` then checks), SMIC-HS's one frame per clip, DFME annotation-only
    (its 2629 clips' frames would add nothing the small fixtures do not test: load it with check_frames=False)."""
    from tests import official_releases as O

    return O.write_official_root(tmp_path_factory.mktemp("official"), frames=("casme3", "casme2", "samm"))
