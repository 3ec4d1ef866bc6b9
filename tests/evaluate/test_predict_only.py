"""`harness submit ... --predict-only -o predictions.csv`: a participant's path on a test phase without labels.
The folds run as in a scored submission (the same predictions), nothing is scored or recorded, no phase slot is
used, and the file is a valid predictions file in the template's ids."""
from __future__ import annotations

import csv
import json
import shutil

import pytest

from harness.cli.main import main
from harness.store.db import open_store
from tests import formats as F
from tests.tiny_corpus import write_tiny_corpus


@pytest.mark.slow
def test_predict_only_on_an_unlabelled_phase_writes_the_file_a_participant_uploads(tmp_path, capsys):
    labelled = write_tiny_corpus(tmp_path / "organiser")
    blind = tmp_path / "participant"
    shutil.copytree(labelled, blind, symlinks=True)
    F.strip_dfme_labels(blind / "dfme", "test_B")
    phase = ["-p", "ccac2024-dfme", "--phase", "test_B"]
    assert main(["submit", "sanity-stratified", *phase, "--data-root", str(blind), "--quiet"]) == 2   # as before
    assert "no reference labels" in capsys.readouterr().err
    out = tmp_path / "predictions.csv"
    assert main(["submit", "sanity-stratified", *phase, "--data-root", str(blind), "--predict-only", "-o", str(out),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["recorded"] is False and doc["n_predictions"] == 14
    with open_store() as store:
        assert store.submissions() == []   # nothing recorded, no slot taken
    tpl = tmp_path / "template.csv"
    assert main(["template", *phase, "--data-root", str(blind), "-o", str(tpl)]) == 0
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(tpl, newline="") as f:
        assert [r["sample_id"] for r in rows] == [r["sample_id"] for r in csv.DictReader(f)]
    # the organiser scores the file against the labels; the folds ran as a scored submission's do
    capsys.readouterr()
    assert main(["score", str(out), *phase, "--data-root", str(labelled), "--json", "--draws", "10"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert main(["submit", "sanity-stratified", *phase, "--data-root", str(labelled), "--json", "--quiet"]) == 0
    submitted = json.loads(capsys.readouterr().out)["report"]
    assert scored["confusion"] == submitted["confusion"]
    # usage: -o without --predict-only, or several seeds, is refused before anything runs
    assert main(["submit", "sanity-stratified", *phase, "--data-root", str(blind), "-o", str(out)]) == 2
    assert main(["submit", "sanity-stratified", *phase, "--data-root", str(blind), "--predict-only", "-o", str(out),
                 "--seeds", "0,1"]) == 2
