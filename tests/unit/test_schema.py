"""One schema mechanism (harness/schema.py) for every declarative file the harness reads: each reader refuses a
malformed file with the same kind of message, `FILE, key 'KEY PATH': what is wrong (what to do)`, bad input
(exit 2), every problem at once."""
from __future__ import annotations

import pytest

from harness.errors import BadInput, ValidationFailed


def _protocol(path):
    from harness.protocols import _load

    return _load(path, path.stat().st_mtime_ns)


def _bundle(path):
    from harness.bundles.manifest import load_bundle

    (path.parent / "model.py").write_text("class X:\n    pass\n")
    return load_bundle(path.parent)


def _expectations(path):
    from harness.experiments.check import load_expectations

    return load_expectations(path)


def _errata(path):
    from harness.datasets.errata import read_errata

    return read_errata(path)


def _reviewed(path):
    from harness.bundles.reviewed import reviewed_entries

    return reviewed_entries(path)


def _published(path):
    from harness.protocols.published import _read

    return _read(path, path.stat().st_mtime_ns)


READERS = [  # reader, file name, content, key, message
    (_protocol, "p.yaml", "name: p\nversion: 1\ndatasets: [casme3]\nclasses: [a, b]\nlabel_map: {casme3: {x: a}}\n"
                          "split: {kind: phases, train: t, phases: {A: {split: a, limits: {per_day: 1}}}}\n",
     "split.phases.A.limits.per_day", "unknown field 'per_day'; did you mean 'per_team_per_day'?"),
    (_bundle, "bundle.yaml", "name: x\nteam: t\nkind: system\nentry_point: model:X\ndescription: d\n"
                             "profiles: {quick: {}}\nneural: 1\n", "neural", "must be true or false, not 1"),
    (_expectations, "exp.yaml", "checks:\n  - {bundle: b, protocol: casme3-3class, expect: {uf1: {min: x}}}\n",
     "checks[0].expect.uf1.min", "must be a number, not 'x'"),
    (_errata, "errata.yaml", "errata: e\nversion: 1\ndataset: samm\nfile: f.xlsx\ncorrections:\n"
                             "  - {identity: {a: 1}, field: F, released: 1, corrected: 2}\n",
     "corrections[0].source", "missing field (whose value this is"),
    (_reviewed, "reviewed.yaml", "- {name: b, code_hash: abc, reviewed: me}\n", "[0].code_hash",
     "must be 64 hex digits (the hash `harness submit BUNDLE --fold-batched` names when it refuses)"),
    (_published, "rows.yaml", "- {board: b, system: s, source: paper, uar: -0.1}\n", "[0].uar",
     "must be a score in [0, 1], not -0.1"),
]


@pytest.mark.parametrize("reader, name, text, key, message", READERS, ids=[r[1] for r in READERS])
def test_every_declarative_file_names_file_key_and_what_to_do(tmp_path, reader, name, text, key, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as err:
        reader(path)
    assert err.value.exit_code == 2
    rendered = [p.render() for p in err.value.problems]
    assert any(r.startswith(f"{path}") and f"key {key!r}: {message}" in r for r in rendered), rendered


@pytest.mark.parametrize("reader, name", [(r[0], r[1]) for r in READERS], ids=[r[1] for r in READERS])
def test_every_declarative_file_refuses_bad_yaml_as_bad_input(tmp_path, reader, name):
    path = tmp_path / name
    path.write_text("a: [unclosed\n", encoding="utf-8")
    with pytest.raises(BadInput, match=f"{path}: not valid YAML"):
        reader(path)


def test_a_malformed_review_is_an_error_not_a_skipped_entry(tmp_path):
    from harness.bundles.reviewed import reviewed_entries

    good = "a" * 64
    path = tmp_path / "reviewed.yaml"
    path.write_text(f"- {{name: b, code_hash: {good}, reviewed: me}}\n")
    assert reviewed_entries(path) == [("b", good)]
    path.write_text(f"- {{name: b, code_hash: {good}, reviewed: me}}\n- {{name: c, codehash: {good}}}\n")
    with pytest.raises(ValidationFailed, match=r"key '\[1\]\.codehash': unknown field 'codehash'; did you mean "
                                               r"'code_hash'\?"):
        reviewed_entries(path)
