"""Adding a split kind is one class: a k-fold over subjects defined here (nothing else changed) validates its own
`split:` fields, makes folds that test every subject once, and runs end to end (`harness protocols show`, a
submission scored on the pooled folds, its board)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from harness.cli.main import main
from harness.paths import builtin_dir
from harness.protocols.splits import SPLIT_KINDS, Fold, SplitKind, positions, register_split_kind
from tests.tiny_corpus import write_tiny_corpus


@pytest.fixture
def kfold():
    @register_split_kind
    class SubjectKFold(SplitKind):
        """k folds of whole subjects, assigned by a seeded permutation."""

        name = "kfold"

        def parse(self, split):  # split: harness.schema.Fields of the protocol's `split:`
            k = split.get("k", int, check=lambda k: None if k >= 2 else f"must be at least 2, not {k}")
            return {"params": {"k": k, "seed": split.get("seed", int, default=0)}}

        def folds(self, task, phase):
            k, seed = task.protocol.split_params["k"], task.protocol.split_params["seed"]
            subjects = sorted(set(task.table["group"]))
            order = np.random.default_rng(seed).permutation(len(subjects))
            groups = task.table["group"].to_numpy()
            out = []
            for f in range(k):
                mine = {subjects[i] for i in order[f::k]}
                test = np.isin(groups, list(mine))
                out.append(Fold(f"fold{f + 1}", positions(~test), positions(test)))
            return out

        def summary(self, proto):
            return f"{proto.split_params['k']}-fold over subjects"

    yield "kfold"
    SPLIT_KINDS.unregister("kfold")


@pytest.fixture
def protocol(tmp_path, monkeypatch, kfold):
    data = yaml.safe_load((builtin_dir("protocols") / "casme3-7class.yaml").read_text())
    data.update(name="casme3-2fold", split={"kind": "kfold", "k": 2, "seed": 1})
    data.pop("official_counts", None)
    folder = tmp_path / "protocols"
    folder.mkdir()
    (folder / "casme3-2fold.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setenv("HARNESS_PROTOCOLS_PATH", str(folder))
    return "casme3-2fold"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_tiny_corpus(tmp_path_factory.mktemp("kfold-corpus"))


def test_a_split_kind_defined_in_a_test_runs_end_to_end(protocol, corpus, harness_home, capsys):
    from harness.protocols import get_protocol
    from harness.protocols.task import build_task

    proto = get_protocol(protocol)
    task = build_task(proto, corpus)
    folds = task.folds()
    assert [f.name for f in folds] == ["fold1", "fold2"]
    tested = sorted(i for f in folds for i in f.test)
    assert tested == list(range(len(task.table)))  # every sample tested exactly once
    for f in folds:
        assert set(task.table["group"].iloc[list(f.train)]).isdisjoint(task.table["group"].iloc[list(f.test)])
    assert main(["protocols", "show", protocol, "--data-root", str(corpus), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["split"] == "2-fold over subjects" and shown["splits"]["all"]["samples"] == len(task.table)
    assert main(["submit", "sanity-majority", "-p", protocol, "--data-root", str(corpus), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["report"]
    assert report["n_samples"] == len(task.table)
    board = (harness_home / "leaderboard" / f"{protocol}.md").read_text()
    assert "sanity-majority" in board
    assert main(["submit", "sanity-majority", "-p", protocol, "--phase", "test_A", "--data-root", str(corpus)]) == 2


def test_a_split_kinds_own_fields_are_validated(protocol, tmp_path):
    from harness.errors import ValidationFailed
    from harness.protocols.model import parse_protocol

    data = yaml.safe_load((tmp_path / "protocols" / f"{protocol}.yaml").read_text())
    data["split"] = {"kind": "kfold", "k": 1}
    with pytest.raises(ValidationFailed, match=r"key 'split\.k': must be at least 2, not 1"):
        parse_protocol(data, tmp_path / f"{protocol}.yaml")
    data["split"] = {"kind": "kfolds"}
    with pytest.raises(ValidationFailed, match="did you mean 'kfold'"):
        parse_protocol(data, tmp_path / f"{protocol}.yaml")
