"""Published reference rows are protocol inputs: they live beside the protocol files (`protocols/published/`, and
`published/` in any folder of HARNESS_PROTOCOLS_PATH), are validated like every declarative file, and reach the
board of the protocol (and phase) they name."""
from __future__ import annotations

import pytest
import yaml

from harness.errors import ValidationFailed
from harness.paths import builtin_dir
from harness.protocols import get_protocol, protocol_names
from harness.protocols.published import published_rows

SHIPPED = yaml.safe_load((builtin_dir("protocols") / "published" / "rows.yaml").read_text(encoding="utf-8"))


def test_every_shipped_row_reaches_the_board_it_names():
    found = [r for p in protocol_names() for phase in get_protocol(p).board_names()
             for r in published_rows(p, phase, get_protocol(p).primary_metric)]
    assert SHIPPED and sorted(map(repr, found)) == sorted(map(repr, SHIPPED))


def test_a_protocol_folder_brings_its_own_rows(tmp_path, monkeypatch):
    (tmp_path / "published").mkdir()
    (tmp_path / "published" / "mine.yaml").write_text(
        "- {board: casme3-3class, system: Mine, team: me, uf1: 0.5, uar: 0.4, source: 'Me et al. 2026'}\n"
        "- {board: casme3-3class, system: Better, team: me, uf1: 0.7, uar: 0.6, source: 'Me et al. 2026'}\n")
    monkeypatch.setenv("HARNESS_PROTOCOLS_PATH", str(tmp_path))
    rows = published_rows("casme3-3class", None)
    shipped = [r for r in SHIPPED if r["board"] == "casme3-3class"]
    assert len(rows) == len(shipped) + 2 and [r["system"] for r in rows][:1] == ["Better"]  # best uf1 first


def test_a_malformed_row_names_the_file_the_key_and_what_is_wrong(tmp_path, monkeypatch):
    bad = tmp_path / "published" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text("- {board: casme3-3class, system: Mine, uf1: 1.7}\n- not a row\n")
    monkeypatch.setenv("HARNESS_PROTOCOLS_PATH", str(tmp_path))
    with pytest.raises(ValidationFailed) as err:
        published_rows("casme3-3class", None)
    text = str(err.value)
    assert f"{bad}, key '[0].uf1': must be a score in [0, 1], not 1.7" in text
    assert f"{bad}, key '[0].source': missing field" in text
    assert f"{bad}, key '[1]': must be a mapping of fields" in text
