"""`harness compare A B` on stored predictions: the paired test of two systems on the MEGC2019 official list
(real-composition fixtures), refusals when the test sets differ, and reports stored before per-subject matrices
were kept (paired through the data root's labels, with the same result)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from harness.cli.main import main
from harness.store.db import open_store
from tests import official_releases as O


def _record(root, tmp_path, name: str, skill: float, protocol: str = "megc2019-composite", seed: int = 0) -> int:
    tpl = tmp_path / f"{name}.csv"
    assert main(["template", "-p", protocol, "--data-root", str(root), "-o", str(tpl)]) == 0
    ids = [ln.split(",")[0] for ln in tpl.read_text().splitlines()[1:]]
    truth = {O.megc2019_uid(d, s, c): y for d, s, c, y in O.megc2019_list(O.casme2_records(), O.samm_records(),
                                                                             O.smic_records())}
    rng = np.random.default_rng(seed)
    pred = [truth.get(i, 0) if rng.random() < skill else int(rng.integers(0, 3)) for i in ids]
    tpl.write_text("sample_id,prediction\n" + "".join(f"{i},{p}\n" for i, p in zip(ids, pred)))
    assert main(["score", str(tpl), "-p", protocol, "--data-root", str(root), "--record", "--team", "t",
                 "--system", name, "--draws", "20"]) == 0
    with open_store() as store:
        return max(s.id for s in store.submissions())


def _compare(capsys, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["compare", *args, "--json", "--draws", "300", "--permutations", "300"])
    return code, json.loads(capsys.readouterr().out)


def test_compare_prints_a_paired_test_and_refuses_other_test_sets(official_root, small_root, tmp_path, capsys):
    good = _record(official_root, tmp_path, "good", 0.8, seed=1)
    weak = _record(official_root, tmp_path, "weak", 0.3, seed=2)
    code, out = _compare(capsys, str(good), str(weak))
    assert code == 0 and out["n_subjects"] == 68 and out["notes"] == []
    for m in ("uf1", "uar", "acc"):
        d = out["delta"][m]
        assert d["value"] == pytest.approx(out["a"]["metrics"][m] - out["b"]["metrics"][m])
        assert d["p"] < 0.01 and d["ci"][0] > 0
    code, same = _compare(capsys, str(good), str(good))
    assert code == 0 and same["delta"]["uf1"]["p"] == 1.0 and same["delta"]["uf1"]["ci"] == [0.0, 0.0]
    assert main(["compare", str(good), str(weak), "--draws", "100", "--permutations", "100"]) == 0
    text = capsys.readouterr().out
    assert "Δ = A - B" in text and "paired bootstrap over subjects" in text and "permutation" in text
    # another test set (the small root's 23 composite samples): refused, exit 2, with what differs
    other = _record(small_root, tmp_path, "elsewhere", 0.5)
    assert main(["compare", str(good), str(other)]) == 2
    assert "different test sets" in capsys.readouterr().err
    smic = _record(official_root, tmp_path, "smic-only", 0.5, protocol="smic-3class")
    assert main(["compare", str(good), str(smic)]) == 2
    assert "same protocol and phase" in capsys.readouterr().err


def test_reports_without_per_subject_matrices_are_paired_through_the_data_root(official_root, tmp_path, capsys):
    a, b = _record(official_root, tmp_path, "a", 0.6, seed=3), _record(official_root, tmp_path, "b", 0.5, seed=4)
    code, stored = _compare(capsys, str(a), str(b))
    assert code == 0
    with open_store() as store:   # as a report stored before this field existed
        detail = store.scores(a)
        del detail["per_subject"]
        store.conn.execute("UPDATE scores SET detail=? WHERE submission_id=?", (json.dumps(detail), a))
        store.conn.commit()
    assert main(["compare", str(a), str(b)]) == 2
    assert "--data-root" in capsys.readouterr().err
    code, rebuilt = _compare(capsys, str(a), str(b), "--data-root", str(official_root))
    assert code == 0 and rebuilt["delta"] == stored["delta"]


def test_a_submissions_export_round_trips_through_harness_score(official_root, tmp_path, capsys):
    sid = _record(official_root, tmp_path, "exported", 0.6, seed=5)
    with open_store() as store:
        recorded = store.scores(sid)
    out = tmp_path / "export.csv"
    assert main(["submissions", "export", str(sid), "-o", str(out), "--data-root", str(official_root)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "sample_id,fold,subject,dataset,truth,seed,prediction" and len(lines) == 443
    first = dict(zip(lines[0].split(","), lines[1].split(",")))
    assert first["sample_id"].split("/")[0] == first["dataset"] and first["fold"].endswith(first["subject"])
    truth = {O.megc2019_uid(d, s, c): O.MEGC_CLASSES[y] for d, s, c, y in O.megc2019_list(
        O.casme2_records(), O.samm_records(), O.smic_records())}
    rows = [dict(zip(lines[0].split(","), ln.split(","))) for ln in lines[1:]]
    assert all(r["truth"] == truth[r["sample_id"]] for r in rows)   # the release's ids and labels
    capsys.readouterr()
    assert main(["score", str(out), "-p", "megc2019-composite", "--data-root", str(official_root), "--json",
                 "--draws", "20"]) == 0
    rescored = json.loads(capsys.readouterr().out)
    assert rescored["metrics"] == recorded["metrics"] and rescored["confusion"] == recorded["confusion"]
    assert rescored["parts"] == recorded["parts"]
    assert main(["submissions", "export", "999", "--data-root", str(official_root)]) == 2
