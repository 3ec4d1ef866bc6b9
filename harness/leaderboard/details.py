"""One detail page per measured row of a board (markdown + the confusion-matrix figure): what the provenance
JSON holds about its scores, in a form a reader can act on: per-class precision, recall and F1, the confusion
matrix, the per-dataset parts of a composite, and the profile that ran."""
from __future__ import annotations

from pathlib import Path

from harness.names import shown_name


def render_detail(proto, phase: str | None, row: dict, board_file: str, provenance_link: str,
                  figure_name: str) -> str:
    from tabulate import tabulate

    from harness.leaderboard.cells import ci_cell, data_label, inert
    from harness.scoring.metrics import title as metric_title

    report, prov = row["report"], row.get("provenance") or {}
    board = f"{proto.name} — {phase}" if phase else proto.name
    seeds = report.get("n_seeds", 1)
    lines = [f"# {inert(row['label'])} ({inert(shown_name(row['team']))}) on {board}", "",
             f"Submission {row['id']}, {inert(row['kind'])}, {row['created_at'][:10]}; {report['n_samples']} samples "
             f"from {report.get('n_subjects', '?')} subjects, K = {len(report['classes'])}; "
             f"data: {inert(data_label(prov))}; seeds: {', '.join(str(s) for s in report.get('seeds', [])) or '1'}. "
             f"[Back to the board](../{board_file}) · [provenance](../{provenance_link})", ""]
    if prov.get("data_kind") == "synthetic":
        lines += ["Measured on the embedded **synthetic** corpus, not on the real dataset.", ""]
    lines += [tabulate([[metric_title(m), ci_cell(v, seeds)] for m, v in report["metrics"].items()],
                       headers=["metric", "value [95% CI]" if seeds == 1 else "mean ± std over seeds [95% CI]"],
                       tablefmt="github", disable_numparse=True), ""]
    lines += ["## Per class", "",
              tabulate([[inert(p["class"]), f"{p['precision']:.3f}", f"{p['recall']:.3f}", f"{p['f1']:.3f}",
                         p["support"]] for p in report["per_class"]],
                       headers=["class", "precision", "recall", "F1", "support"], tablefmt="github",
                       disable_numparse=True), ""]
    never, absent = report.get("never_predicted") or [], report.get("absent") or []
    if never:
        lines += [f"Never predicted (F1 = 0, kept in the mean): {', '.join(inert(c) for c in never)}.", ""]
    if absent:
        lines += [f"Absent from the test set (F1 = recall = 0, kept in the mean): "
                  f"{', '.join(inert(c) for c in absent)}.", ""]
    classes = [inert(c) for c in report["classes"]]
    lines += ["## Confusion matrix" + (" (seed of the first run)" if seeds > 1 else ""), "",
              "Rows are the truth, columns the prediction.", "",
              tabulate([[c, *r] for c, r in zip(classes, report["confusion"][0])], headers=["truth \\ prediction",
                                                                                           *classes],
                       tablefmt="github", disable_numparse=True), "",
              f"![confusion matrix]({figure_name})", ""]
    if report.get("parts"):
        keys = list(report["metrics"])
        lines += ["## Per dataset", "", "Each dataset's part of the same pooled predictions; intervals from a "
                  "bootstrap over that dataset's subjects.", "",
                  tabulate([[inert(p["title"]), p["n_samples"], p["n_subjects"],
                             *(ci_cell(p["metrics"][k], seeds) for k in keys)] for p in report["parts"].values()],
                           headers=["dataset", "N", "subjects", *(metric_title(k) for k in keys)],
                           tablefmt="github", disable_numparse=True), ""]
    profile = prov.get("profile_label") or row.get("profile")
    if profile:
        lines += ["## Profile", "", f"Ran with `{inert(profile)}`."
                  + (f" `quick` reduces the method: {inert(prov['profile_reduction'])}."
                     if prov.get("profile_reduction") else ""), ""]
    return "\n".join(lines)


def write_detail(out: Path, stem: str, proto, phase: str | None, row: dict, board_file: str,
                 provenance_link: str) -> list[str]:
    """details/<stem>.md and .png; returns the file names written (for the stale-file sweep)."""
    from harness.leaderboard.figures import confusion_figure
    from harness.leaderboard.cells import write_if_changed

    report = row["report"]
    confusion_figure(out / "details" / f"{stem}.png", list(report["classes"]), report["confusion"][0],
                     f"{row['label']} ({shown_name(row['team'])}), {proto.name}{' ' + phase if phase else ''}")
    write_if_changed(out / "details" / f"{stem}.md",
                      render_detail(proto, phase, row, board_file, provenance_link, f"{stem}.png") + "\n")
    return [f"{stem}.md", f"{stem}.png"]
