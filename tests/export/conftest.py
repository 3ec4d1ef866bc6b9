"""A small synthetic corpus (DFME and CAS(ME)^3 in their release layouts) and the Codabench bundles exported from
it, shared by the export tests; helpers to read and rewrite a bundle."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

# (protocol, the Codabench phases of its bundle, the --phase each stands for)
CASES = {"ccac2024-dfme": [("test_A", "test_A"), ("test_B", "test_B")], "casme3-7class": [("loso", None)]}
PHASES = [(proto, name, phase) for proto, phases in CASES.items() for name, phase in phases]


@pytest.fixture(scope="package")
def corpus(tmp_path_factory) -> Path:
    from harness.synth.config import SynthConfig
    from harness.synth.writer import generate

    root = tmp_path_factory.mktemp("export-corpus")
    generate(root, "dfme,casme3", seed=0, config=SynthConfig(samples_per_subject=4, size=48), subjects=12, workers=1,
             progress=False)
    return root


@pytest.fixture(scope="package")
def bundles(corpus, tmp_path_factory) -> dict[str, Path]:
    """protocol -> its exported bundle (no dates, as `harness export codabench -p P --data-root R -o B` writes it)."""
    from harness.export.codabench.bundle import export_codabench

    out = tmp_path_factory.mktemp("bundles")
    return {p: export_codabench(p, out / f"{p}.zip", data_root=corpus).path for p in CASES}


@dataclass
class Unzipped:
    files: dict[str, bytes]

    def yaml(self) -> dict:
        import yaml

        return yaml.safe_load(self.files["competition.yaml"])

    def text(self, name: str) -> str:
        return self.files[name].decode("utf-8")


def unzip(path: Path) -> Unzipped:
    with zipfile.ZipFile(path) as z:
        return Unzipped({n: z.read(n) for n in z.namelist()})


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def rezip(files: dict[str, bytes], path: Path) -> Path:
    path.write_bytes(zipped(files))
    return path
