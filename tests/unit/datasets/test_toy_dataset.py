"""Adding a dataset is one adapter: a toy release defined here (its layout, sample-id rule, official counts and
synthetic layout; nothing else changed) is written by the synthetic generator, read back by the loaders and
`harness data check`, and used by a protocol that names it, down to a scored submission."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Sequence

import pytest
import yaml

from harness.cli.main import main
from harness.datasets import ADAPTERS
from harness.datasets.base import AnnotationRecord, DatasetAdapter
from harness.datasets.synthetic import OfficialSplit, SyntheticLayout, one
from harness.datasets.tree import child_dir
from harness.errors import Problem

COLUMNS = ["subject", "clip", "onset", "apex", "offset", "emotion"]


class Toy(DatasetAdapter):
    """labels.csv beside <subject>/<clip>/<n>.png folders; one expression per clip, id = subject-clip."""

    key = "toy"
    title = "Toy release"
    default_fps = 50.0
    vocabulary = ("calm", "glad")
    official = (OfficialSplit("all", 4, 40, {"calm": 20, "glad": 20}),)
    synthetic = SyntheticLayout(subjects=3, samples_per_subject=2.0,
                                emotion={"calm": one("sadness"), "glad": one("happiness")}, subject_pool=(1, 9),
                                subject_format="t{}", first_frame=(1, 1))

    def sample_id(self, subject, clip, onset):
        return f"{subject}-{clip}"

    def read_rows(self, root: Path, problems: list[Problem]):
        path = root / "labels.csv"
        if not path.is_file():
            problems.append(Problem(str(root), "no labels.csv"))
            return [], []
        rows = []
        with open(path, newline="") as f:
            for n, r in enumerate(csv.DictReader(f), start=2):
                rows.append(self.row(sample_id=self.sample_id(r["subject"], r["clip"], r["onset"]),
                                     subject=r["subject"], clip=r["clip"], onset=r["onset"], apex=r["apex"],
                                     offset=r["offset"], emotion=r["emotion"], aus="",
                                     clip_dir=child_dir(child_dir(root, r["subject"]), r["clip"]), source_file=path,
                                     source_row=n))
        return rows, [path]

    def frame_path(self, root: Path, record: AnnotationRecord, index: int) -> Path:
        return root / record.subject / record.clip / f"{index}.png"

    def write_annotations(self, root: Path, records: Sequence[AnnotationRecord]) -> list[Path]:
        path = root / "labels.csv"
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            w.writerows([r.subject, r.clip, r.onset, "" if r.apex is None else r.apex, r.offset, r.emotion]
                        for r in records)
        return [path]


@pytest.fixture
def toy(tmp_path, monkeypatch):
    ADAPTERS.register("toy", Toy)
    folder = tmp_path / "protocols"
    folder.mkdir()
    (folder / "toy-2class.yaml").write_text(yaml.safe_dump({
        "name": "toy-2class", "version": "1", "title": "Toy, 2 classes, LOSO", "datasets": ["toy"],
        "classes": ["calm", "glad"], "label_map": {"toy": {"calm": "calm", "glad": "glad"}},
        "split": {"kind": "loso"}}))
    monkeypatch.setenv("HARNESS_PROTOCOLS_PATH", str(folder))
    yield "toy-2class"
    ADAPTERS.unregister("toy")


def test_a_dataset_defined_in_a_test_is_generated_loaded_and_scored(toy, tmp_path, harness_home, capsys):
    root = tmp_path / "root"
    assert main(["data", "synth", "--like", "toy", "--out", str(root), "--size", "64", "--quiet"]) == 0
    assert (root / "toy" / "labels.csv").is_file() and (root / "_truth" / "toy" / "manifest.json").is_file()
    manifest = json.loads((root / "_truth" / "toy" / "manifest.json").read_text())
    assert manifest["subjects"] == 3 and set(manifest["splits"]["all"]["labels"]) == {"calm", "glad"}
    capsys.readouterr()
    assert main(["data", "check", "--data-root", str(root), "--dataset", "toy", "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)["datasets"]
    assert report["dataset"] == "toy" and report["samples"] == manifest["samples"] and report["errors"] == 0
    from harness.datasets import load_dataset

    table = load_dataset(root, "toy").table
    assert all(sid == f"{s}-{c}" for sid, s, c in zip(table["sample_id"], table["subject"], table["clip"]))
    assert main(["submit", "sanity-majority", "-p", toy, "--data-root", str(root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["report"]["n_samples"] == manifest["samples"] and out["report"]["n_subjects"] == 3


def test_the_generator_asks_the_adapter_and_refuses_a_release_without_a_synthetic_layout(tmp_path):
    from harness.errors import BadInput
    from harness.synth.specs import get_spec, resolve_like

    class Unimitated(Toy):
        key = "plain"
        synthetic = None

    ADAPTERS.register("plain", Unimitated)
    try:
        assert "plain" not in resolve_like("all")
        with pytest.raises(BadInput, match="the plain adapter has no synthetic layout"):
            get_spec("plain")
    finally:
        ADAPTERS.unregister("plain")
