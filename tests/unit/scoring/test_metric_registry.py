"""Adding a metric is one registration: a metric registered here (in the test, nothing else changed) flows
through a protocol that names it to `harness score --json`, the store's long table and the board."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from harness.cli.main import main
from harness.paths import builtin_dir
from harness.scoring.metrics import METRICS, per_class, register_metric, summary


@pytest.fixture
def macro_precision():
    @register_metric("mpr", "MPR", description="unweighted mean of per-class precision")
    def mpr(cm: np.ndarray) -> np.ndarray:
        return per_class(cm)["precision"].mean(axis=-1)

    yield "mpr"
    METRICS.unregister("mpr")


@pytest.fixture
def protocol_with(tmp_path, monkeypatch, macro_precision):
    data = yaml.safe_load((builtin_dir("protocols") / "casme3-3class.yaml").read_text())
    data.update(name="casme3-mpr", metrics=["uf1", "uar", "acc", macro_precision])
    folder = tmp_path / "protocols"
    folder.mkdir()
    (folder / "casme3-mpr.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setenv("HARNESS_PROTOCOLS_PATH", str(folder))
    return "casme3-mpr"


def test_a_registered_metric_reaches_the_report_the_store_and_the_board(protocol_with, small_root, tmp_path,
                                                                      harness_home, capsys):
    template = tmp_path / "t.csv"
    assert main(["template", "-p", protocol_with, "--data-root", str(small_root), "-o", str(template)]) == 0
    lines = template.read_text().splitlines()
    preds = tmp_path / "p.csv"
    preds.write_text("\n".join([lines[0]] + [f"{ln}{i % 3}" for i, ln in enumerate(lines[1:])]) + "\n")
    capsys.readouterr()
    assert main(["score", str(preds), "-p", protocol_with, "--data-root", str(small_root), "--json", "--record",
                 "--team", "t", "--system", "s"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["metrics"]) == ["uf1", "uar", "acc", "mpr"]
    cm = np.asarray(report["confusion"][0])
    assert report["metrics"]["mpr"]["value"] == pytest.approx(float(summary(cm, ["mpr"])["mpr"]))
    from harness.store.db import open_store

    with open_store() as store:
        assert set(store.metric_values(report["submission_id"])) == {"uf1", "uar", "acc", "mpr"}
    board = (Path(harness_home) / "leaderboard" / f"{protocol_with}.md").read_text()
    assert "MPR [95% CI]" in board and f"{report['metrics']['mpr']['value']:.4f}" in board


def test_a_protocol_naming_an_unregistered_metric_is_refused_with_the_known_ones(tmp_path, monkeypatch):
    from harness.errors import ValidationFailed
    from harness.protocols.model import parse_protocol

    data = yaml.safe_load((builtin_dir("protocols") / "casme3-3class.yaml").read_text())
    data["metrics"] = ["uf1", "mpr"]
    with pytest.raises(ValidationFailed, match="unknown metric 'mpr'.*Known metrics: acc, uar, uf1"):
        parse_protocol(data, tmp_path / "casme3-3class.yaml")


def test_a_lower_is_better_metric_ranks_ascending(macro_precision):
    from harness.leaderboard.render import rank_key

    METRICS.unregister("mpr")
    register_metric("mpr", "MPR", higher_is_better=False)(lambda cm: cm.sum(axis=(-2, -1)))
    low, high = ({"created_at": "t", "metrics": {"mpr": {"value": v}}} for v in (0.1, 0.9))
    assert sorted([high, low], key=lambda r: rank_key(r, ["mpr", "earliest"])) == [low, high]
