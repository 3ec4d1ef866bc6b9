"""The embedded synthetic micro-expression corpus.

`harness data synth --like dfme|casme3|casme2|samm|smic|all --out ROOT` writes each dataset in its official
release layout (read back unchanged by the real adapters) plus ground truth under `ROOT/_truth/`.

Modules, one job each:
- specs: each release as the generator sees it, asked of its dataset adapter (official counts, synthetic layout)
- config: the generator's knobs (frozen dataclass, recorded in the manifest)
- face: procedural face per subject, drawn in layers
- aus: FACS action units as local displacement fields
- prototypes: emotion -> AU combinations with sample-to-sample variability
- dynamics: onset/apex/offset timing, asynchronous AU apexes, annotation jitter
- nuisance: head motion, blinks, flicker
- plan: everything but the pixels; render: the pixels; writer: files and manifests
- defects: the real releases' defects planted in the corpus, and the synthetic release's errata
- truth: the ground-truth API (`load_truth`); cli: the command; difficulty: reference classifiers
"""
from __future__ import annotations

GENERATOR_VERSION = "1.1"  # 1.1: planted defects and their errata, release cell types

