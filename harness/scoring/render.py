"""The score report as terminal text (tabulate), for `harness score` and `harness submit`.

Kept apart from report.py so that the report itself stays stdlib + numpy: the Codabench export packages
report.py into a scoring program that runs where tabulate is not installed.
"""
from __future__ import annotations

from harness.scoring.metrics import title as metric_title


def render_report(report: dict, title: str = "") -> str:
    from tabulate import tabulate

    lines = [title] if title else []
    m = report["metrics"]
    seeds = f", {report['n_seeds']} seeds (mean ± std over seeds)" if report["n_seeds"] > 1 else ""
    lines.append(f"{report['n_samples']} samples from {report['n_subjects']} subjects, K = {len(report['classes'])}"
                 f"{seeds}; 95% CI by bootstrap over subjects ({report['bootstrap']['draws']} draws)")
    rows = []
    for key, v in m.items():
        name = metric_title(key)
        std = f" ± {v['std']:.4f}" if report["n_seeds"] > 1 else ""
        rows.append([name, f"{v['value']:.4f}{std}", f"[{v['ci'][0]:.4f}, {v['ci'][1]:.4f}]"])
    lines.append(tabulate(rows, headers=["metric", "value", "95% CI"], disable_numparse=True))
    if report.get("parts"):
        lines += ["", "per dataset (each dataset's part of the pooled predictions; CI by bootstrap over its subjects)"]
        keys = list(m)
        cell = "{0[value]:.4f} [{0[ci][0]:.3f}, {0[ci][1]:.3f}]".format
        table = [["Full", report["n_samples"], *(cell(m[k]) for k in keys)]]
        table += [[p["title"], p["n_samples"], *(cell(p["metrics"][k]) for k in keys)]
                  for p in report["parts"].values()]
        lines.append(tabulate(table, headers=["part", "N", *(metric_title(k) for k in keys)], disable_numparse=True))
    lines.append("")
    lines.append(tabulate([[p["class"], f"{p['precision']:.3f}", f"{p['recall']:.3f}", f"{p['f1']:.3f}", p["support"]]
                           for p in report["per_class"]], headers=["class", "precision", "recall", "F1", "support"],
                          disable_numparse=True))
    cm = report["confusion"][0]
    lines.append("")
    lines.append("confusion (rows = truth, columns = prediction" + (", seed 1" if report["n_seeds"] > 1 else "") + ")")
    lines.append(tabulate([[c, *row] for c, row in zip(report["classes"], cm)], headers=["", *report["classes"]]))
    for note, key in (("never predicted (F1 = 0, kept in the mean)", "never_predicted"),
                      ("absent from the truth (F1 = recall = 0, kept in the mean)", "absent")):
        if report[key]:
            lines.append(f"{note}: {', '.join(report[key])}")
    return "\n".join(lines)
