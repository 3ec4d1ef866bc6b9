"""The difficulty table's claims on a small corpus: the frame-difference reference classifier is clearly above
chance yet far from the ceiling, it falls to chance when the expressions do not move (amplitude 0, so the test
can fail), and the AU-truth oracle stays above it."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow
PROTOCOL = "casme3-3class"


def _scores(root, amplitude):
    from harness.synth.config import SynthConfig
    from harness.experiments.difficulty import reference_scores
    from harness.synth.writer import generate

    cfg = SynthConfig(size=64, amplitude=amplitude, samples_per_subject=12)
    generate(root, "casme3", seed=1, config=cfg, subjects=12, workers=1, progress=False)
    return reference_scores(root, PROTOCOL, None)


def test_reference_classifiers_are_ordered(tmp_path):
    moving = _scores(tmp_path / "default", 1.6)
    still = _scores(tmp_path / "still", 0.0)
    chance, lr, oracle = moving["chance"].uf1, moving["framediff_lr"].uf1, moving["au_oracle_lr"].uf1
    print(f"\n{PROTOCOL} ({moving['samples']} samples): chance {chance:.3f}, majority {moving['majority'].uf1:.3f}, "
          f"frame diff + LR {lr:.3f} (amplitude 0: {still['framediff_lr'].uf1:.3f}), AU oracle {oracle:.3f}")
    assert moving["majority"].uf1 <= chance + 0.02
    assert lr > chance + 0.12                       # clearly above chance
    assert lr < 0.75                                # far from the ceiling
    assert still["framediff_lr"].uf1 < chance + 0.1  # no motion, nothing to learn
    assert lr > still["framediff_lr"].uf1 + 0.12
    assert oracle > lr


def test_readme_block_is_replaced_in_place(tmp_path):
    from harness.experiments.difficulty import BEGIN, END, write_readme

    doc = tmp_path / "README.md"
    doc.write_text(f"# title\n\n{BEGIN}\nold table\n{END}\n\nafter\n")
    write_readme("| new | table |", doc)
    assert doc.read_text() == f"# title\n\n{BEGIN}\n| new | table |\n{END}\n\nafter\n"
