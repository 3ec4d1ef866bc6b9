"""`harness compare A B`: is system A better than system B on the same test set?"""
from __future__ import annotations

import click

from harness.cli.options import data_options, data_root_option, echo_json, json_option


@click.command()
@click.argument("a", type=int)
@click.argument("b", type=int)
@click.option("--draws", type=int, default=None, help="Paired bootstrap draws (default 2000).")
@click.option("--permutations", type=int, default=None, help="Permutations of the paired test (default 2000).")
@data_root_option
@data_options
@json_option
def compare(a: int, b: int, draws: int | None, permutations: int | None, data_root: str | None, data_options,
            as_json: bool) -> None:
    """Paired test of stored submissions A and B (ids from `harness submissions list`) on the same board and test
    samples: Δ = A - B of each metric with a 95% paired-bootstrap interval over subjects and a two-sided
    permutation p-value (the systems' predictions swapped subject by subject). Exit 2 when the two were scored
    on different test sets. --data-root is needed only for reports stored before per-subject matrices were kept.
    """
    from harness.evaluate.compare import compare_submissions
    from harness.scoring import compare as stats
    from harness.store.db import open_store

    with open_store() as store:
        out = compare_submissions(store, a, b, draws if draws is not None else stats.DEFAULT_DRAWS,
                                  permutations if permutations is not None else stats.DEFAULT_PERMUTATIONS,
                                  data_root, data_options)
    doc = {"a": _describe(out.a), "b": _describe(out.b), **out.result, "notes": out.notes}
    if as_json:
        echo_json(doc)
        return
    click.echo(render(doc))


def _describe(side) -> dict:
    s = side.sub
    return {"id": s.id, "team": s.team, "system": s.system, "protocol": s.protocol, "phase": s.phase or None,
            "n_samples": side.report["n_samples"], "n_seeds": side.report["n_seeds"],
            "metrics": {m: v["value"] for m, v in side.report["metrics"].items()}}


def render(doc: dict) -> str:
    from tabulate import tabulate

    from harness.names import shown_name
    from harness.scoring.metrics import title

    a, b, method = doc["a"], doc["b"], doc["method"]
    board = a["protocol"] + (f" {a['phase']}" if a["phase"] else "")
    name = lambda s: f"{s['id']} {shown_name(s['system'])} ({shown_name(s['team'])})"  # noqa: E731
    lines = [f"{board}: A = {name(a)} vs B = {name(b)}; {a['n_samples']} samples from {doc['n_subjects']} subjects",
             ""]
    rows = [[title(m), f"{a['metrics'][m]:.4f}", f"{b['metrics'][m]:.4f}", f"{d['value']:+.4f}",
             f"[{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}]", f"{d['p']:.4f}",
             "yes" if d["p"] < 0.05 and (d["ci"][0] > 0 or d["ci"][1] < 0) else "no"]
            for m, d in doc["delta"].items()]
    lines.append(tabulate(rows, headers=["metric", "A", "B", "Δ = A - B", "95% CI of Δ", "p", "differ at 5%"],
                          disable_numparse=True))
    lines += ["", f"95% CI: paired bootstrap over subjects ({method['bootstrap']['draws']} draws, both systems "
                  f"on the same resampled subjects); p: two-sided paired permutation test "
                  f"({method['permutation']['permutations']} permutations, predictions swapped per subject); "
                  f"seed {method['seed']}; {method['seeds']}."]
    lines += [f"note: {n}" for n in doc["notes"]]
    return "\n".join(lines)
