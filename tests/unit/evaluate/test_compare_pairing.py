"""What `harness compare` pairs and what it refuses: the same board, version and test samples, or exit 2 with what
differs; a note when the two runs saw data with different fingerprints."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from harness.errors import BadInput
from harness.evaluate.compare import Side, check_same_test_set


def _side(i: int, protocol="casme3-3class", phase="", version="1.0", ids=("a", "b"), fingerprint="f1") -> Side:
    sub = SimpleNamespace(id=i, protocol=protocol, phase=phase, protocol_version=version,
                          provenance={"data_fingerprint": fingerprint})
    return Side(sub, {}, list(ids), [])


def test_the_same_test_set_pairs_and_other_fingerprints_are_noted():
    assert check_same_test_set(_side(1), _side(2)) == []
    (note,) = check_same_test_set(_side(1), _side(2, fingerprint="f2"))
    assert "different fingerprints" in note


@pytest.mark.parametrize("other, needle", [
    (dict(protocol="casme3-7class"), "same protocol and phase"),
    (dict(phase="test_A"), "same protocol and phase"),
    (dict(version="0.9"), "versions 1.0 and 0.9"),
    (dict(ids=("a", "c")), "different test sets (1 samples only in 1"),
])
def test_what_cannot_be_paired_is_refused_with_what_differs(other, needle):
    with pytest.raises(BadInput) as exc:
        check_same_test_set(_side(1), _side(2, **other))
    assert needle in str(exc.value)
