"""The wheel carries what an installed `harness` needs besides its code: every protocol file and the published
reference rows, every shipped bundle (manifest and code), the errata and the reviewed-bundles list. Built here
from the checkout, offline (no build isolation, no dependencies); installing it is the README's business."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


SOURCES = ("harness", "protocols", "baselines", "submissions", "pyproject.toml", "setup.py", "README.md")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel, built from a copy of the sources (an in-tree build would leave build/ and egg-info behind)."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--disable-pip-version-check", "-q", "-w", str(out), str(src)],
                   check=True, cwd=src, capture_output=True, timeout=300)
    (path,) = out.glob("*.whl")
    return zipfile.ZipFile(path)


def _shipped(folder: str, pattern: str) -> set[str]:
    return {f"harness/_shipped/{folder}/{p.relative_to(REPO / folder).as_posix()}"
            for p in (REPO / folder).glob(pattern) if "__pycache__" not in p.parts}


@pytest.mark.slow
def test_the_wheel_holds_the_protocols_published_rows_bundles_and_package_data(wheel):
    names = set(wheel.namelist())
    protocols = _shipped("protocols", "*.yaml")
    assert protocols and protocols <= names
    assert "harness/_shipped/protocols/published/rows.yaml" in names
    for folder in ("baselines", "submissions"):
        files = {f for f in _shipped(folder, "**/*") if not f.endswith("/") and (REPO / f.split("/", 2)[2]).is_file()}
        manifests = {f for f in files if f.endswith("/bundle.yaml")}
        assert manifests and files <= names, sorted(files - names)[:5]
    for data in ("harness/bundles/reviewed-bundles.yaml", "harness/datasets/errata/samm-v2.yaml",
                 "harness/datasets/errata/casme3-partA-v2.yaml"):
        assert data in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "harness = harness.cli.main:main" in wheel.read(entry).decode()


def test_builtin_folders_are_found_in_an_installed_copy(tmp_path, monkeypatch):
    """An installed copy has no checkout around it: the packaged folders are used."""
    from harness import paths

    shipped = tmp_path / "harness" / "_shipped"
    (shipped / "protocols").mkdir(parents=True)
    monkeypatch.setattr(paths, "SHIPPED_DIR", shipped)
    assert paths.builtin_dir("protocols") == shipped / "protocols"
    monkeypatch.setattr(paths, "SHIPPED_DIR", tmp_path / "nowhere")
    assert paths.builtin_dir("protocols") == REPO / "protocols"
