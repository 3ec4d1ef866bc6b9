"""A board's rows as data, for `harness leaderboard --format csv|json|latex`: what a paper's table, a
spreadsheet or another tool reads. The same rows, ranks and tiers as the markdown board (measured rows ranked,
published rows after them, unranked), one record per row."""
from __future__ import annotations

import csv
import io
import json
from typing import Sequence

FORMATS = ("md", "csv", "json", "latex")


def board_records(store, proto, phase: str | None) -> list[dict]:
    from harness.leaderboard.render import board_filename, citation_text, measured_rows, published_rows
    from harness.leaderboard.tiers import assign_tiers
    from harness.names import shown_name

    board = board_filename(proto.name, phase)
    rows = measured_rows(store, proto, phase)
    tiers = assign_tiers(rows, proto.primary_metric)
    out = []
    for rank, r in enumerate(rows, start=1):
        tier = tiers.get(r["id"])
        rec = {"board": board, "rank": rank, "tier": tier.tier if tier else None, "submission": r["id"],
               "system": shown_name(r["label"]), "team": shown_name(r["team"]), "kind": r["kind"],
               "seeds": r["n_seeds"], "n": r["n_samples"], "data": (r["provenance"] or {}).get("data_kind"),
               "date": r["created_at"][:10], "source": ""}
        for m in proto.metric_columns():
            v = r["metrics"][m]
            std = v["std"] if r["n_seeds"] > 1 else None  # one seed has no spread: an empty cell, not 0.0
            rec.update({m: v["value"], f"{m}_low": v["ci"][0], f"{m}_high": v["ci"][1], f"{m}_std": std})
        for key, part in (r["report"].get("parts") or {}).items():
            rec.update({f"{key}_{m}": part["metrics"][m]["value"] for m in proto.metric_columns()
                        if m in part["metrics"]})
        out.append(rec)
    for p in published_rows(proto.name, phase, proto.primary_metric):
        rec = {"board": board, "rank": None, "tier": None, "submission": None, "system": p["system"],
               "team": p.get("team", ""), "kind": "published", "seeds": None, "n": p.get("n"), "data": "real",
               "date": None, "source": citation_text(p)}
        rec.update({m: p.get(m) for m in proto.metric_columns()})
        for key, part in (p.get("parts") or {}).items():
            rec.update({f"{key}_{m}": part.get(m) for m in proto.metric_columns() if part.get(m) is not None})
        out.append(rec)
    return out


def _columns(records: Sequence[dict]) -> list[str]:
    return list(dict.fromkeys(k for r in records for k in r))


def to_csv(records: Sequence[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_columns(records), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buf.getvalue()


def to_json(records: Sequence[dict]) -> str:
    return json.dumps(list(records), indent=2, default=str) + "\n"


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
          "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "·": r"\textperiodcentered{}"}


def latex_escape(text: object) -> str:
    from harness.names import printable

    return "".join(_LATEX.get(ch, ch) for ch in " ".join(printable(text).split()))


def to_latex(records: Sequence[dict], metrics: Sequence[str], caption: str) -> str:
    """One booktabs table: measured rows with value and 95% CI, then published rows (values only)."""
    from harness.scoring.metrics import title

    head = ["Rank", "Tier", "System", "Team", *(title(m) for m in metrics), "N"]
    lines = [r"\begin{table}[t]", r"\centering", f"\\caption{{{latex_escape(caption)}}}",
             r"\begin{tabular}{rrll" + "c" * len(metrics) + "r}", r"\toprule",
             " & ".join(head) + r" \\", r"\midrule"]
    published = False
    for r in records:
        if r["kind"] == "published" and not published:
            lines.append(r"\midrule")
            published = True
        cells = [str(r["rank"] or "--"), str(r["tier"] or "--"), latex_escape(r["system"]), latex_escape(r["team"])]
        for m in metrics:
            v = r.get(m)
            if v is None:
                cells.append("--")
            elif r.get(f"{m}_low") is not None:
                cells.append(f"{v:.4f} [{r[f'{m}_low']:.3f}, {r[f'{m}_high']:.3f}]")
            else:
                cells.append(f"{float(v):.4f}")
        cells.append(str(r["n"] if r["n"] is not None else "--"))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
