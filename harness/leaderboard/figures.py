"""The PNG figures of the boards: a board's ranking metric with its intervals, and each row's confusion matrix.

Written without timestamps and only when the bytes change, so re-rendering an unchanged board changes no file.
A board's figure says when its rows ran on synthetic data, shows the published rows (real data) as markers in
their own colour, and draws the expected score of a stratified random guess on the test set's own class
counts (harness.scoring.chance) rather than 1/K.
"""
from __future__ import annotations

import io
from pathlib import Path

from harness.fsutil import atomic_write_bytes
from harness.names import shown_name


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    _pyplot().close(fig)
    data = buf.getvalue()
    if not (path.exists() and path.read_bytes() == data):
        atomic_write_bytes(path, data)
    return path


def chance_level(proto, rows: list[dict]) -> float | None:
    """The primary metric of a stratified guess on the first row's test set (its per-class supports)."""
    from harness.scoring.chance import stratified_guess

    per_class = rows[0]["report"].get("per_class") if rows else None
    if not per_class:
        return None
    return stratified_guess([p["support"] for p in per_class], (proto.primary_metric,))[proto.primary_metric]


def board_figure(path: Path, proto, phase: str | None, rows: list[dict], published: list[dict]) -> Path:
    """The primary metric (UF1) with its 95% CI per measured row (horizontal error bars), published rows as
    markers without intervals, the stratified-guess level as a dotted line."""
    from harness.scoring.metrics import title as metric_title

    plt = _pyplot()
    primary = proto.primary_metric
    shown_pub = [r for r in published if r.get(primary) is not None]
    names = [f"{r['label']} ({shown_name(r['team'])})" for r in rows][::-1]
    names = [f"{r['system']} (published)" for r in shown_pub][::-1] + names
    vals = [r["metrics"][primary]["value"] for r in rows][::-1]
    lo = [v - r["metrics"][primary]["ci"][0] for v, r in zip(vals, rows[::-1])]
    hi = [r["metrics"][primary]["ci"][1] - v for v, r in zip(vals, rows[::-1])]
    width = max(7.0, 4.0 + 0.065 * max(len(n) for n in names))  # room for the longest "name · profile (team)"
    fig, ax = plt.subplots(figsize=(width, 0.45 * len(names) + 1.8), dpi=100)
    n_pub = len(shown_pub)
    synthetic = any((r.get("provenance") or {}).get("data_kind") == "synthetic" for r in rows)
    ax.errorbar(vals, range(n_pub, n_pub + len(vals)), xerr=[lo, hi], fmt="o", capsize=3,
                label="measured here" + (" (synthetic data)" if synthetic else ""))
    if shown_pub:
        ax.plot([float(r[primary]) for r in shown_pub][::-1], range(n_pub), "D", color="tab:orange",
                label="published (real data)")
    chance = chance_level(proto, rows)
    if chance is not None:
        ax.axvline(chance, color="grey", linestyle=":", linewidth=1,
                   label=f"stratified random guess ({chance:.3f})")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8, parse_math=False)  # a name like `$x^$` is text, not mathtext
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"{metric_title(primary)} with 95% CI (bootstrap over subjects)")
    data = "measured on SYNTHETIC data (the embedded corpus)" if synthetic else ""
    ax.set_title(f"{proto.name}{' ' + phase if phase else ''}" + (f"\n{data}" if data else ""), fontsize=9)
    fig.legend(loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.6 / fig.get_size_inches()[1], 1, 1))   # room for the legend below the axis
    return _save(fig, path)


def confusion_figure(path: Path, classes: list[str], matrix: list[list[int]], title: str) -> Path:
    """Row-normalised confusion matrix (recall on the diagonal) with the counts written in each cell."""
    import numpy as np

    plt = _pyplot()
    cm = np.asarray(matrix, dtype=float)
    rates = np.divide(cm, cm.sum(axis=1, keepdims=True), out=np.zeros_like(cm), where=cm.sum(axis=1, keepdims=True) > 0)
    size = 1.8 + 0.7 * len(classes)
    fig, ax = plt.subplots(figsize=(size + 1.2, size), dpi=100)
    im = ax.imshow(rates, vmin=0, vmax=1, cmap="Blues")
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=8,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)))
    ax.set_xticklabels(classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)))
    ax.set_yticklabels(classes, fontsize=8)
    ax.set_xlabel("prediction")
    ax.set_ylabel("truth")
    ax.set_title(title, fontsize=9, loc="left", parse_math=False)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    fig.tight_layout()
    return _save(fig, path)
