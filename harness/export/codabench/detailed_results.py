"""detailed_results.html of a scored submission: the metrics with their 95% intervals, the per-class table and
the confusion matrix, from the report `harness score --json` prints.

Packaged into the scoring program (standard library only). Every value that reaches the page is escaped: class
names and file names come from files the organisers and participants wrote.
"""
from __future__ import annotations

from html import escape

from harness.scoring.metrics import title as metric_title

STYLE = ("body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;margin:.5em 0 1.5em}"
         "td,th{border:1px solid #bbb;padding:.25em .6em;text-align:right}"
         "th:first-child,td:first-child{text-align:left}td.hit{background:#dfd}"
         "caption{text-align:left;font-weight:bold;padding:.3em 0}")


def _table(caption: str, header: list[str], rows: list[list[str]], hits: set[tuple[int, int]] = frozenset()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    cell = {True: '<td class="hit">', False: "<td>"}
    body = "".join("<tr>" + "".join(f"{cell[(i, j) in hits]}{escape(str(v))}</td>" for j, v in enumerate(row))
                   + "</tr>" for i, row in enumerate(rows))
    return f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: dict, source: str) -> str:
    """A standalone page (inline style, no script)."""
    classes = report["classes"]
    title = f"{report['protocol']} v{report['protocol_version']}" + (f" {report['phase']}" if report["phase"] else "")
    boot = report["bootstrap"]
    summary = (f"{report['n_samples']} samples from {report['n_subjects']} subjects, K = {len(classes)} (fixed by the "
               f"protocol); metrics computed once on all predictions pooled; 95% intervals by bootstrap over "
               f"subjects ({boot['draws']} draws, seed {boot['seed']}).")
    metrics = [[name, f"{report['metrics'][key]['value']:.4f}",
                f"[{report['metrics'][key]['ci'][0]:.4f}, {report['metrics'][key]['ci'][1]:.4f}]"]
               for key, name in ((k, metric_title(k)) for k in report["metrics"])]
    per_class = [[p["class"], f"{p['precision']:.4f}", f"{p['recall']:.4f}", f"{p['f1']:.4f}", p["support"]]
                 for p in report["per_class"]]
    cm = report["confusion"][0]
    confusion = [[c, *row] for c, row in zip(classes, cm)]
    notes = [f"{label}: {', '.join(report[key])}" for label, key in
             (("never predicted (F1 = 0, kept in the mean)", "never_predicted"),
              ("absent from the reference (F1 = recall = 0, kept in the mean)", "absent")) if report[key]]
    parts = [
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">",
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h2>{escape(title)}: {escape(source)}</h2><p>{escape(summary)}</p>",
        _table("Metrics", ["metric", "value", "95% CI"], metrics),
        _table("Per class", ["class", "precision", "recall", "F1", "support"], per_class),
        _table("Confusion matrix (rows = reference class, columns = predicted class)", ["", *classes], confusion,
               hits={(i, i + 1) for i in range(len(classes))}),
        *(f"<p>{escape(n)}</p>" for n in notes),
        "</body></html>",
    ]
    return "\n".join(parts)
