"""predictions.csv: the malformed-file battery (CLI, exit 2, nothing recorded), accepted variants, the fast path
agreeing with the exact row-by-row reader, and template -> fill -> score --json."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score, recall_score

from harness.cli.main import main
from harness.errors import ValidationFailed
from harness.paths import leaderboard_dir
from harness.scoring import predictions as P
from harness.scoring.predictions import format_predictions, parse_predictions, read_predictions
from harness.store.db import open_store
from tests import formats as F

CLASSES = F.DFME_CLASSES
# test_A of the small DFME fixture: subjects sub0004 and sub0005, one sample per class each
IDS = [f"sub{s:04d}_{j:02d}" for s in (4, 5) for j in range(1, 8)]
TRUTH = [c for _ in range(2) for c in CLASSES]


@pytest.fixture(scope="module")
def dfme_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dfme")
    F.write_dataset(root, "dfme", F.dfme_records())
    return root


def _csv(rows: list[list[str]], header=("sample_id", "prediction"), sep=",", eol="\n") -> bytes:
    return (eol.join(sep.join(r) for r in [list(header), *rows]) + eol).encode("utf-8")


def _good_rows() -> list[list[str]]:
    return [[sid, lab] for sid, lab in zip(IDS, TRUTH)]


def _score(root: Path, path: Path, *extra: str) -> int:
    return main(["score", str(path), "--protocol", "ccac2024-dfme", "--phase", "test_A", "--data-root", str(root),
                 *extra])


# ----- the malformed battery, through the CLI ---------------------------------------------------------------------
def _with(rows, i, row):
    rows = [list(r) for r in rows]
    rows[i] = row
    return rows


def _proba_header():
    return ("sample_id", "prediction", *[f"p_{c}" for c in CLASSES])


def _proba_rows(override: dict[int, list[str]] | None = None):
    out = []
    for n, (sid, lab) in enumerate(zip(IDS, TRUTH)):
        p = ["0"] * 7
        p[CLASSES.index(lab)] = "1"
        out.append([sid, lab, *(override or {}).get(n, p)])
    return out


MALFORMED = {
    "empty file": (b"", ["the file is empty", "row 1"]),
    "blank file": (b"\n \n", ["the file is empty"]),
    "no header": (_csv(_good_rows()[1:], header=_good_rows()[0]),
                  ["row 1, column 'sub0004_01': unknown column", "missing column 'sample_id'"]),
    "wrong column names": (_csv(_good_rows(), header=("id", "label")),
                           ["unknown column 'id'", "unknown column 'label'", "missing column 'prediction'"]),
    "semicolon separated": (_csv(_good_rows(), sep=";", header=("sample_id;prediction",)),
                            ["the file must be comma-separated"]),
    "duplicate column": (_csv([r + [r[1]] for r in _good_rows()], header=("sample_id", "prediction", "prediction")),
                         ["row 1, column 'prediction': column 'prediction' appears twice"]),
    "extra field": (_csv(_with(_good_rows(), 1, [IDS[1], "anger", "x"])),
                    ["row 3: 3 field(s), the header has 2", "1 test sample(s) have no prediction: 'sub0004_02'"]),
    "duplicate id": (_csv(_with(_good_rows(), 13, [IDS[0], "anger"])),
                     ["row 15, column 'sample_id': sample_id 'sub0004_01' appears again (first at row 2)",
                      "'sub0005_07'"]),
    "unknown id": (_csv(_with(_good_rows(), 4, ["sub9999_01", "fear"])),
                   ["row 6, column 'sample_id': unknown sample_id 'sub9999_01'", "'sub0004_05'"]),
    "missing ids": (_csv(_good_rows()[:-2]),
                    ["column 'sample_id': 2 test sample(s) have no prediction: 'sub0005_06', 'sub0005_07'"]),
    "empty sample_id": (_csv(_with(_good_rows(), 2, ["", "fear"])), ["row 4, column 'sample_id': empty sample_id"]),
    "empty prediction": (_csv(_with(_good_rows(), 3, [IDS[3], ""])),
                         ["row 5, column 'prediction': empty prediction"]),
    "unknown class": (_csv(_with(_good_rows(), 5, [IDS[5], "joy"])),
                      ["row 7, column 'prediction': unknown class 'joy'", "anger (0)"]),
    "index out of range": (_csv(_with(_good_rows(), 6, [IDS[6], "7"])),
                           ["row 8, column 'prediction': class index 7 is out of range", "0 to 6"]),
    "negative index": (_csv(_with(_good_rows(), 6, [IDS[6], "-1"])), ["row 8, column 'prediction': class index -1"]),
    "incomplete p_ columns": (_csv([r + ["0.5", "0.5"] for r in _good_rows()],
                                   header=("sample_id", "prediction", "p_anger", "p_fear")),
                              ["row 1: probability columns are incomplete: missing p_contempt, p_disgust"]),
    "p_ outside [0,1]": (_csv(_proba_rows({2: ["1.5", "-0.5", "0", "0", "0", "0", "0"]}), header=_proba_header()),
                         ["row 4, column 'p_anger': '1.5' is not a probability",
                          "row 4, column 'p_contempt': '-0.5' is not a probability"]),
    "p_ not a number": (_csv(_proba_rows({0: ["x", "0", "0", "0", "0", "0", "1"]}), header=_proba_header()),
                        ["row 2, column 'p_anger': 'x' is not a probability"]),
    "p_ not summing to 1": (_csv(_proba_rows({9: ["0.2", "0.2", "0.2", "0.2", "0.1", "0", "0"]}),
                                 header=_proba_header()),
                            ["row 11: probabilities sum to 0.9000, not 1"]),
    "non-UTF-8 bytes": (_csv(_good_rows()).replace(b"sub0004_03,disgust", b"sub0004_03,d\xe9gout"),
                        ["row 4, column 'prediction': not UTF-8 text (byte 0xe9"]),
    "non-UTF-8 id after a BOM": (b"\xef\xbb\xbf" + _csv(_good_rows()).replace(b"sub0005_01", b"sub\xff005_01"),
                                 ["row 9, column 'sample_id': not UTF-8 text (byte 0xff"]),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_file_exit_2_names_row_and_column_records_nothing(case, dfme_root, tmp_path, capsys):
    data, needles = MALFORMED[case]
    path = tmp_path / "pred.csv"
    path.write_bytes(data)
    rc = _score(dfme_root, path, "--record", "--team", "t", "--system", "s")
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "is not a valid predictions file" in err
    for needle in needles:
        assert needle in err, (needle, err)
    with open_store() as store:
        assert store.submissions() == []
    assert main(["leaderboard", "--protocol", "ccac2024-dfme"]) == 0
    capsys.readouterr()
    assert "No scored submissions yet." in (leaderboard_dir() / "ccac2024-dfme-test_A.md").read_text()


def test_all_problems_reported_in_one_pass():
    rows = _good_rows()
    rows[0] = [IDS[0], "joy"]
    rows[1] = ["nope", "anger"]
    rows[2] = [IDS[2], ""]
    rows[3] = [IDS[3], "9"]
    with pytest.raises(ValidationFailed) as err:
        parse_predictions(_csv(rows), "f.csv", IDS, CLASSES)
    rendered = [p.render() for p in err.value.problems]
    assert rendered[:4] == [
        "f.csv, row 3, column 'sample_id': unknown sample_id 'nope' (not a test sample of this protocol/phase; "
        "`harness template` lists them)",
        "f.csv, row 2, column 'prediction': unknown class 'joy' (use one of anger (0), contempt (1), disgust (2), "
        "fear (3), happiness (4), sadness (5), surprise (6))",
        "f.csv, row 4, column 'prediction': empty prediction (fill in a class name or index)",
        "f.csv, row 5, column 'prediction': class index 9 is out of range (indices run from 0 to 6: 0=anger, "
        "1=contempt, 2=disgust, 3=fear, 4=happiness, 5=sadness, 6=surprise)",
    ]
    assert "1 test sample(s) have no prediction: 'sub0004_02'" in rendered[4] and len(rendered) == 5


def test_missing_file_and_folder(tmp_path, dfme_root, capsys):
    assert _score(dfme_root, tmp_path / "none.csv") == 2
    assert "no such file" in capsys.readouterr().err


# ----- accepted variants ------------------------------------------------------------------------------------------
def _expected_pred():
    return np.array([CLASSES.index(c) for c in TRUTH])


def _variants() -> dict[str, bytes]:
    good = _csv(_good_rows())
    shuffled = _good_rows()[::-1]
    return {
        "plain": good,
        "BOM": b"\xef\xbb\xbf" + good,
        "CRLF": _csv(_good_rows(), eol="\r\n"),
        "BOM + CRLF": b"\xef\xbb\xbf" + _csv(_good_rows(), eol="\r\n"),
        "quoted fields": _csv([[f'"{a}"', f'"{b}"'] for a, b in _good_rows()], header=('"sample_id"', '"prediction"')),
        "mixed case and spaces": _csv([[f"  {a} ", f"  {b.upper()[:1] + b[1:]}  "] for a, b in _good_rows()],
                                      header=(" Sample_ID", "PREDICTION ")),
        "indices": _csv([[a, str(CLASSES.index(b))] for a, b in _good_rows()]),
        "float indices": _csv([[a, f"{CLASSES.index(b)}.0"] for a, b in _good_rows()]),
        "any row order": _csv(shuffled),
        "columns swapped": _csv([[b, a] for a, b in _good_rows()], header=("prediction", "sample_id")),
        "trailing blank lines": good + b"\n\n",
        "no final newline": good.rstrip(b"\n"),
        "p_ columns": _csv(_proba_rows(), header=_proba_header()),
    }


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("name", list(_variants()))
def test_accepted_variants(name, fast):
    preds = parse_predictions(_variants()[name], name, IDS, CLASSES, fast=fast)
    assert preds.ids == IDS
    assert preds.pred.tolist() == _expected_pred().tolist()
    if name == "p_ columns":
        assert preds.proba.shape == (14, 7) and (preds.proba.argmax(axis=1) == preds.pred).all()
    else:
        assert preds.proba is None


@pytest.mark.parametrize("name", ["plain", "CRLF", "BOM", "any row order", "indices", "p_ columns",
                                  "mixed case and spaces"])
def test_plain_valid_files_take_the_fast_path(name, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the exact reader was used")
    monkeypatch.setattr(P, "_parse_labels", refuse)
    assert parse_predictions(_variants()[name], name, IDS, CLASSES).pred.tolist() == _expected_pred().tolist()


def test_class_names_with_spaces_and_p_columns_with_underscores():
    classes = ["very negative", "positive"]
    data = b"sample_id,prediction,p_very_negative,p_positive\na,Very  Negative,0.7,0.3\nb,1,0.2,0.8\n"
    for fast in (True, False):
        preds = parse_predictions(data, "f", ["a", "b"], classes, fast=fast)
        assert preds.pred.tolist() == [0, 1] and preds.proba.tolist() == [[0.7, 0.3], [0.2, 0.8]]


def test_format_then_read_round_trip(tmp_path):
    proba = np.eye(7)[_expected_pred()]
    path = tmp_path / "out.csv"
    path.write_text(format_predictions(IDS, list(TRUTH), proba, CLASSES), encoding="utf-8")
    preds = read_predictions(path, IDS, CLASSES)
    assert preds.pred.tolist() == _expected_pred().tolist() and (preds.proba == proba).all()
    empty = format_predictions(IDS, [""] * len(IDS))  # the template: header and ids, nothing to leak
    assert empty.splitlines() == ["sample_id,prediction", *[f"{i}," for i in IDS]]


# ----- the fast path agrees with the exact reader -----------------------------------------------------------------
REF = ["a1", "a2", "b1", "b2", "c1"]
GOOD_CELLS = ["anger", "Fear", " disgust ", "3", "6", "+2", "1.0", "SURPRISE", "happiness", "0", '"fear"']
BAD_CELLS = ["7", "-1", "", "joy", "a1", "1.5"]
BAD_IDS = [" a1", "zz", "", '"b1"', "A1"]
BAD_PROBS = ["1.5", "-0.1", "nan", "x", "", "0.999", "1e-3", "0.5"]


@st.composite
def prediction_files(draw):
    """Half plainly valid files (in every accepted variant), half with a few random defects."""
    broken = draw(st.booleans())
    defect = (lambda: draw(st.integers(0, 5)) == 0) if broken else (lambda: False)
    with_p = draw(st.booleans())
    header = ["sample_id", "prediction"] + ([f"p_{c}" for c in CLASSES] if with_p else [])
    if draw(st.booleans()):
        header = header[::-1]
    rows = []
    for sid in draw(st.permutations(REF)):
        if defect():
            continue  # a missing row
        label = draw(st.sampled_from(BAD_CELLS)) if defect() else draw(st.sampled_from(GOOD_CELLS))
        cells = {"sample_id": draw(st.sampled_from(BAD_IDS)) if defect() else sid, "prediction": label}
        if with_p:
            hot = draw(st.integers(0, 6))
            cells.update({f"p_{c}": ("1" if i == hot else "0") for i, c in enumerate(CLASSES)})
            if defect():
                cells[f"p_{draw(st.sampled_from(CLASSES))}"] = draw(st.sampled_from(BAD_PROBS))
        row = [cells[h] for h in header]
        if defect():
            row.append("extra")
        rows.append(",".join(row))
        if draw(st.integers(0, 12)) == 0:
            rows.append("")  # a blank line (valid: skipped)
    if defect():
        rows.append(rows[0] if rows else "a1,anger")  # a duplicate row
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = eol.join([",".join(header), *rows]) + draw(st.sampled_from(["", eol]))
    return (draw(st.sampled_from(["", "\ufeff"])) + text).encode("utf-8")


def _outcome(data: bytes, fast: bool):
    try:
        p = parse_predictions(data, "f.csv", REF, CLASSES, fast=fast)
    except ValidationFailed as exc:
        return "error", [x.render() for x in exc.problems]
    return "ok", p.pred.tolist(), None if p.proba is None else p.proba.tolist()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(prediction_files())
def test_fast_path_agrees_with_exact_reader(data):
    assert _outcome(data, True) == _outcome(data, False)


# ----- template -> fill -> score --json ---------------------------------------------------------------------------
def test_template_fill_score_json(dfme_root, tmp_path, capsys):
    tpl = tmp_path / "template.csv"
    assert main(["template", "--protocol", "ccac2024-dfme", "--phase", "test_A", "--data-root", str(dfme_root),
                 "-o", str(tpl)]) == 0
    assert "wrote 14 test ids" in capsys.readouterr().err
    lines = tpl.read_text().splitlines()
    assert lines[0] == "sample_id,prediction" and [ln.split(",")[0] for ln in lines[1:]] == IDS
    assert all(ln.endswith(",") for ln in lines[1:])
    # fill: subject 4 all right; subject 5 predicts 'disgust' for everything
    pred = TRUTH[:7] + ["disgust"] * 7
    tpl.write_text(lines[0] + "\n" + "".join(f"{ln}{p}\n" for ln, p in zip(lines[1:], pred)))
    assert _score(dfme_root, tpl, "--json", "--draws", "300") == 0
    rep = json.loads(capsys.readouterr().out)
    yt, yp = [CLASSES.index(c) for c in TRUTH], [CLASSES.index(c) for c in pred]
    # by hand: disgust F1 = 2*2/(4+6+0) = 0.4; other classes F1 = 2/3; recall disgust 1, others 1/2
    assert rep["metrics"]["uf1"]["value"] == pytest.approx((6 * 2 / 3 + 0.4) / 7)
    assert rep["metrics"]["uar"]["value"] == pytest.approx((6 * 0.5 + 1) / 7)
    assert rep["metrics"]["acc"]["value"] == pytest.approx(8 / 14)
    assert rep["metrics"]["uf1"]["value"] == pytest.approx(f1_score(yt, yp, average="macro"))
    assert rep["metrics"]["uar"]["value"] == pytest.approx(recall_score(yt, yp, average="macro"))
    assert rep["metrics"]["acc"]["value"] == pytest.approx(accuracy_score(yt, yp))
    assert rep["n_samples"] == 14 and rep["n_subjects"] == 2 and rep["protocol"] == "ccac2024-dfme"
    assert rep["phase"] == "test_A" and rep["bootstrap"]["draws"] == 300
    assert rep["confusion"][0][2] == [0, 0, 2, 0, 0, 0, 0] and rep["confusion"][0][0] == [1, 0, 1, 0, 0, 0, 0]
    # two subjects (accuracy 7/7 and 1/7): resampling subjects spans both extremes
    assert rep["metrics"]["acc"]["ci"] == pytest.approx([1 / 7, 1.0])
    with open_store() as store:
        assert store.submissions() == []  # not recorded without --record


def test_score_text_output(dfme_root, tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_bytes(_csv(_good_rows()))
    assert _score(dfme_root, path, "--draws", "50") == 0
    out = capsys.readouterr().out
    assert "ccac2024-dfme test_A" in out and "14 samples from 2 subjects, K = 7" in out
    assert "UF1" in out and "1.0000" in out


def test_loso_template_and_score(tmp_path, capsys):
    F.write_dataset(tmp_path, "casme3", F.casme3_records(3))
    tpl = tmp_path / "t.csv"
    assert main(["template", "-p", "casme3-3class", "--data-root", str(tmp_path), "-o", str(tpl)]) == 0
    ids = [ln.split(",")[0] for ln in tpl.read_text().splitlines()[1:]]
    assert len(ids) == 18 and "spNO.1_a_10" in ids and "spNO.1_a_20" in ids  # 'Others' excluded
    emo = {"a_10": "negative", "a_20": "positive", "b_5": "surprise"}
    mapping = {"c": None, "d": "negative", "e": "negative", "f": "negative"}
    rows = []
    for sid in ids:
        key = sid.split("_", 1)[1]
        rows.append(f"{sid},{emo.get(key) or mapping[key.split('_')[0]]}")
    tpl.write_text("sample_id,prediction\n" + "\n".join(rows) + "\n")
    assert main(["score", str(tpl), "-p", "casme3-3class", "--data-root", str(tmp_path), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["metrics"]["uf1"]["value"] == 1.0 and rep["metrics"]["uf1"]["ci"] == [1.0, 1.0]
    assert rep["n_subjects"] == 3 and rep["phase"] is None
    assert main(["score", str(tpl), "-p", "casme3-3class", "--phase", "test_A", "--data-root", str(tmp_path)]) == 2
    assert "leave-one-subject-out and has no phases" in capsys.readouterr().err


def test_unlabelled_phase_cannot_be_scored(tmp_path, capsys):
    F.write_dataset(tmp_path, "dfme", F.dfme_records())
    F.strip_dfme_labels(tmp_path / "dfme", "test_B")
    tpl = tmp_path / "t.csv"
    assert main(["template", "-p", "ccac2024-dfme", "--phase", "test_B", "--data-root", str(tmp_path),
                 "-o", str(tpl)]) == 0  # participants get a template without labels
    capsys.readouterr()
    tpl.write_text(tpl.read_text().replace(",\n", ",anger\n"))
    assert main(["score", str(tpl), "-p", "ccac2024-dfme", "--phase", "test_B", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no reference labels for ccac2024-dfme test_B: 14 test samples are unlabelled" in err


def test_score_usage_errors(dfme_root, tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_bytes(_csv(_good_rows()))
    assert _score(dfme_root, path, "--record") == 2
    assert "--record needs --team and --system" in capsys.readouterr().err
    assert main(["score", str(path), "-p", "ccac2024-dfme", "--data-root", str(dfme_root)]) == 2
    assert "choose one with --phase" in capsys.readouterr().err
    assert main(["score", str(path), "-p", "ccac2024-dfme", "--phase", "testA", "--data-root", str(dfme_root)]) == 2
    assert "did you mean 'test_A'" in capsys.readouterr().err


@pytest.mark.parametrize("fast", [True, False])
def test_probability_sum_tolerance(fast):
    rows = _proba_rows({0: ["0.995", "0", "0", "0", "0", "0", "0"], 1: ["0", "0.5", "0.5", "0.0049", "0", "0", "0"]})
    preds = parse_predictions(_csv(rows, header=_proba_header()), "f", IDS, CLASSES, fast=fast)
    assert preds.proba[0, 0] == 0.995 and preds.proba[1, 3] == 0.0049
    rows = _proba_rows({0: ["0.98", "0", "0", "0", "0", "0", "0"]})
    with pytest.raises(ValidationFailed, match="row 2: probabilities sum to 0.9800"):
        parse_predictions(_csv(rows, header=_proba_header()), "f", IDS, CLASSES, fast=fast)


def test_composite_template_and_score(tmp_path, capsys):
    """megc2019-composite: ids carry their dataset, folds are per (dataset, subject), metrics pooled, K = 3."""
    F.write_small_root(tmp_path, ("casme2", "samm", "smic"))
    tpl = tmp_path / "t.csv"
    assert main(["template", "-p", "megc2019-composite", "--data-root", str(tmp_path), "-o", str(tpl)]) == 0
    ids = [ln.split(",")[0] for ln in tpl.read_text().splitlines()[1:]]
    assert len(ids) == 6 + 8 + 9 and "casme2/sub01/EP02_01f" in ids and "samm/006_1_1" in ids
    assert "smic/s1_ne_01" in ids and not any("others" in i for i in ids)
    # everything predicted 'negative': negative recall 1, the others 0
    tpl.write_text("sample_id,prediction\n" + "".join(f"{i},0\n" for i in ids))
    assert main(["score", str(tpl), "-p", "megc2019-composite", "--data-root", str(tmp_path), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    n_neg = 3 + 6 + 3  # casme2 disgust x2 + repression; samm anger x2, contempt, disgust, fear, sadness; smic 3
    assert rep["n_samples"] == 23 and rep["n_subjects"] == 9
    assert rep["metrics"]["uar"]["value"] == pytest.approx(1 / 3)
    assert rep["metrics"]["acc"]["value"] == pytest.approx(n_neg / 23)
    assert rep["metrics"]["uf1"]["value"] == pytest.approx((2 * n_neg / (2 * n_neg + 23 - n_neg)) / 3)
    assert rep["never_predicted"] == ["positive", "surprise"]
