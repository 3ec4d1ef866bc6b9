"""How hard is the synthetic corpus? Simple reference classifiers under the real protocols, and how their scores
move with the generator's knobs. Writes the tables into harness/synth/README.md.

    harness data difficulty                            # default corpora, seeds 0-2 (temporary folders)
    harness data difficulty --data-root ROOT --no-sweep --no-write

Reference classifiers (trained on each fold's training part only: LOSO folds via `task.folds()`, phases train ->
test; scored once on the pooled predictions with harness.scoring.metrics):
- chance: uniform random class (mean of 20 seeds); majority: the training split's most frequent class;
- frame difference + LR: grey apex minus onset frame (annotated key frames; the middle frame when the apex is not
  coded), area-downsampled to 16x16, standardised, class-balanced logistic regression;
- AU truth + LR (oracle): the true peak intensity of every AU of the expression (from the ground truth, which
  no submission sees). It shows how far the classes overlap by construction: not even perfect AU knowledge reaches
  the ceiling.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

PROTOCOL_PHASES: tuple[tuple[str, str | None], ...] = (
    ("ccac2024-dfme", "test_A"), ("ccac2024-dfme", "test_B"), ("casme3-7class", None), ("casme3-3class", None),
    ("megc2019-composite", None),
)
SWEEP_LIKE = "casme3"
SWEEP_PROTOCOLS = ("casme3-7class", "casme3-3class")
SWEEP_SUBJECTS = 22
SWEEP: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("amplitude", (0.0, 0.8, 1.6, 3.2, 6.4)),
    ("noise", (0.0, 1.5, 6.0, 12.0)),
    ("label_noise", (0.0, 0.05, 0.3, 0.6)),
)
SEEDS = (0, 1, 2)
FEATURE_SIZE = 16
BEGIN, END = "<!-- difficulty:begin -->", "<!-- difficulty:end -->"
README = Path(__file__).resolve().parents[1] / "synth" / "README.md"


@dataclass
class Score:
    uf1: float
    uar: float
    acc: float

    def cell(self) -> str:
        return f"{self.uf1:.3f} / {self.uar:.3f}"


def _mean_sd(values: list[float]) -> str:
    return f"{np.mean(values):.2f} ± {np.std(values):.2f}" if len(values) > 1 else f"{values[0]:.3f}"


# ----- features -------------------------------------------------------------------------------------------------
def frame_difference(task, size: int = FEATURE_SIZE) -> np.ndarray:
    """(N, size*size) apex-minus-onset grey differences for the task's samples (annotated key frames)."""
    import cv2

    from harness.datasets.frames import list_frames

    out = np.zeros((len(task.table), size * size), np.float32)
    for i, row in enumerate(task.table.itertuples(index=False)):
        frames = list_frames(row.clip_dir)
        onset = int(row.onset)
        apex = int(row.apex) if not _missing(row.apex) else (onset + int(row.offset)) // 2
        a = cv2.imread(str(frames[onset]), cv2.IMREAD_GRAYSCALE).astype(np.float32)
        b = cv2.imread(str(frames[apex]), cv2.IMREAD_GRAYSCALE).astype(np.float32)
        out[i] = cv2.resize(b - a, (size, size), interpolation=cv2.INTER_AREA).ravel()
    return out


def au_truth(task) -> np.ndarray:
    """(N, n_AU_names) true peak intensity of each AU of each sample's expression (oracle features)."""
    from harness.synth.aus import all_names
    from harness.synth.truth import load_truth

    names = all_names()
    out = np.zeros((len(task.table), len(names)), np.float32)
    for i, row in enumerate(task.table.itertuples(index=False)):
        t = load_truth(task.data_root, row.dataset, row.sample_id)
        lo, hi = t.onset - t.frame_indices[0], t.offset - t.frame_indices[0]
        for au in t.aus:
            out[i, names.index(au)] = t.au_intensity[lo:hi + 1, t.au_names.index(au)].max()
    return out


def _missing(v) -> bool:
    try:
        return v is None or bool(np.isnan(v))
    except TypeError:
        return str(v) == "<NA>"


# ----- classifiers ----------------------------------------------------------------------------------------------
def _lr(x_train, y_train, x_test) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(set(y_train)) == 1:
        return np.full(len(x_test), y_train[0])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=3000, class_weight="balanced"))
    model.fit(x_train, y_train)
    return model.predict(x_test)


def _majority(x_train, y_train, x_test) -> np.ndarray:
    values, counts = np.unique(y_train, return_counts=True)
    return np.full(len(x_test), values[int(np.argmax(counts))])


def evaluate(task, phase: str | None, features: np.ndarray | None,
             fit_predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> Score:
    """Train on each fold's training rows only; score the pooled test predictions once (MEGC convention)."""
    from harness.scoring.metrics import confusion, summary

    y = task.table["label_index"].to_numpy(dtype=np.int64)
    k = task.protocol.n_classes
    x = features if features is not None else np.zeros((len(y), 1), np.float32)
    truth, pred = [], []
    for fold in task.folds(phase):
        tr, te = list(fold.train), list(fold.test)
        truth.append(y[te])
        pred.append(fit_predict(x[tr], y[tr], x[te]))
    s = summary(confusion(np.concatenate(truth), np.concatenate(pred), k))
    return Score(float(s["uf1"]), float(s["uar"]), float(s["acc"]))


def chance(task, phase: str | None, seeds: int = 20) -> Score:
    """Uniform random predictions, averaged over seeds."""
    k = task.protocol.n_classes
    scores = []
    for seed in range(seeds):
        r = np.random.default_rng(seed)
        scores.append(evaluate(task, phase, None, lambda a, b, c, r=r: r.integers(0, k, len(c))))
    return Score(*(float(np.mean([getattr(s, f) for s in scores])) for f in ("uf1", "uar", "acc")))


def reference_scores(data_root: Path, protocol: str, phase: str | None) -> dict[str, object]:
    """Every reference classifier on one protocol (and phase) of a corpus."""
    from harness.protocols import get_protocol
    from harness.protocols.task import build_task

    task = build_task(get_protocol(protocol), Path(data_root))
    diff = frame_difference(task)
    return {
        "protocol": protocol, "phase": phase or "LOSO", "samples": len(task.test_positions(phase)),
        "classes": task.protocol.n_classes,
        "chance": chance(task, phase),
        "majority": evaluate(task, phase, None, _majority),
        "framediff_lr": evaluate(task, phase, diff, _lr),
        "au_oracle_lr": evaluate(task, phase, au_truth(task), _lr),
    }


# ----- tables ---------------------------------------------------------------------------------------------------
def main_table(runs: list[list[dict]]) -> str:
    """One row per protocol/phase; each cell the mean ± s.d. of UF1 (and UAR) over the corpora in `runs`."""
    head = ("| protocol | phase | test samples | K | chance UF1 | majority UF1 | frame diff + LR UF1 | "
            "frame diff + LR UAR | AU truth + LR (oracle) UF1 |\n|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for i, r in enumerate(runs[0]):
        rows = [run[i] for run in runs]

        def cell(name: str, metric: str = "uf1", rows: list = rows) -> str:
            return _mean_sd([getattr(x[name], metric) for x in rows])

        lines.append(f"| {r['protocol']} | {r['phase']} | {r['samples']} | {r['classes']} | {cell('chance')} | "
                     f"{cell('majority')} | **{cell('framediff_lr')}** | {cell('framediff_lr', 'uar')} | "
                     f"{cell('au_oracle_lr')} |")
    return "\n".join(lines)


def sweep(seed: int, workers: int | None, progress: bool) -> list[tuple[str, float, dict[str, dict]]]:
    """Regenerate a CAS(ME)^3-like corpus per knob value; score the reference classifiers on it."""
    from harness.synth.config import SynthConfig
    from harness.synth.writer import generate

    out = []
    base = SynthConfig()
    with tempfile.TemporaryDirectory(prefix="synth-sweep-") as tmp:
        for knob, values in SWEEP:
            for v in values:
                cfg = base.replace(**{knob: v})
                root = Path(tmp) / f"{knob}-{v:g}"
                generate(root, SWEEP_LIKE, seed=seed, config=cfg, subjects=SWEEP_SUBJECTS, workers=workers,
                         progress=progress)
                res = {p: reference_scores(root, p, None) for p in SWEEP_PROTOCOLS}
                out.append((knob, v, res))
    return out


def sweep_table(results) -> str:
    from harness.synth.config import SynthConfig

    base = SynthConfig()
    cols = " | ".join(f"{p} frame diff + LR UF1 | {p} oracle UF1" for p in SWEEP_PROTOCOLS)
    lines = [f"| knob | value | {cols} |", "|---|---|" + "---|" * (2 * len(SWEEP_PROTOCOLS))]
    for knob, v, res in results:
        mark = " (default)" if getattr(base, knob) == v else ""
        cells = " | ".join(f"{res[p]['framediff_lr'].uf1:.3f} | {res[p]['au_oracle_lr'].uf1:.3f}"
                           for p in SWEEP_PROTOCOLS)
        lines.append(f"| {knob} | {v:g}{mark} | {cells} |")
    return "\n".join(lines)


def write_readme(text: str, path: Path) -> None:
    """Replace the block between the difficulty markers of `path` with `text`."""
    doc = path.read_text()
    if BEGIN not in doc or END not in doc:
        from harness.errors import BadInput

        raise BadInput(f"{path} has no {BEGIN} ... {END} block to fill")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def difficulty_tables(data_root: str | Path | None, seed: int, seeds: list[int], workers: int | None,
                      with_sweep: bool = True) -> str:
    """The difficulty tables as markdown: the reference classifiers on `data_root` (with its `seed`), or on
    default corpora generated for each of `seeds`, then (`with_sweep`) the knob sweep."""
    import time

    from harness.synth.writer import generate

    t0 = time.perf_counter()
    seeds = [seed] if data_root else list(seeds)
    runs = []
    with tempfile.TemporaryDirectory(prefix="synth-difficulty-") as tmp:
        for s in seeds:
            root = Path(data_root) if data_root else Path(tmp) / f"corpus-{s}"
            if not data_root:
                generate(root, "all", seed=s, workers=workers)
            runs.append([reference_scores(root, p, ph) for p, ph in PROTOCOL_PHASES])
            if not data_root:
                shutil.rmtree(root)
    where = (f"the corpus at {data_root}" if data_root else
             f"the default corpus (`harness data synth --like all`), seeds {', '.join(map(str, seeds))}")
    text = (f"Reference classifiers on {where}; UF1 pooled over folds, mean ± s.d. over seeds:\n\n"
            + main_table(runs))
    if with_sweep:
        res = sweep(seeds[0], workers, progress=True)
        text += (f"\n\nKnob sweep on a CAS(ME)^3-like corpus ({SWEEP_SUBJECTS} subjects, seed {seeds[0]}, other "
                 "knobs at their defaults), LOSO UF1:\n\n" + sweep_table(res))
    return text + f"\n\n_Generated by `harness data difficulty` in {time.perf_counter() - t0:.0f} s._"
