"""`harness data synth|check`."""
from __future__ import annotations

import click

from harness.cli.main import LazyGroup
from harness.cli.options import data_root_option, echo_json, json_option


@click.group(cls=LazyGroup, lazy={
    "synth": ("harness.synth.cli:synth", "Write a synthetic corpus in the official layout of real datasets."),
    "check": ("harness.cli.data:check", "Validate a data root; report every problem in one pass."),
    "difficulty": ("harness.synth.difficulty:difficulty",
                   "Score reference classifiers on synthetic corpora; write the difficulty table."),
})
def data() -> None:
    """Synthetic corpus generation and data-root validation."""


@click.command()
@data_root_option
@click.option("--dataset", "datasets", multiple=True, help="Only these dataset keys (default: every folder present).")
@json_option
def check(data_root: str | None, datasets: tuple[str, ...], as_json: bool) -> None:
    """Validate a data root: annotation files, columns, labels, key frames, frame files, duplicate ids.

    Exit 0 when clean (warnings allowed), 1 when problems were found, 2 when the root is unusable.
    """
    from harness.datasets import ADAPTERS, load_dataset
    from harness.errors import BadInput, CheckFailed, HarnessError
    from harness.paths import resolve_data_root

    for key in datasets:
        ADAPTERS.get(key)  # an unknown key is a usage error ("did you mean"), not a data problem
    root = resolve_data_root(data_root)
    keys = list(datasets) or [k for k in ADAPTERS.names() if (root / k).is_dir()]
    if not keys:
        raise BadInput(f"{root} holds none of the dataset folders {', '.join(ADAPTERS.names())}")
    report = []
    for key in keys:
        try:
            result = load_dataset(root, key)
            problems = result.problems
            n = len(result.table)
        except HarnessError as exc:  # unreadable file, missing columns: reported, and the other datasets go on
            from harness.errors import Problem

            problems = getattr(exc, "problems", None) or [Problem(str(root / key), str(exc))]
            n = 0
        report.append({"dataset": key, "samples": n, "problems": [p.as_dict() for p in problems],
                       "errors": sum(p.severity == "error" for p in problems),
                       "warnings": sum(p.severity != "error" for p in problems)})
    if as_json:
        echo_json({"data_root": str(root), "datasets": report})
    else:
        for r in report:
            status = "ok" if r["errors"] == 0 else f"{r['errors']} error(s)"
            click.echo(f"{r['dataset']}: {r['samples']} samples, {status}, {r['warnings']} warning(s)")
            from harness.errors import Problem

            for p in r["problems"]:
                click.echo(f"  [{p.get('severity', 'error')}] {Problem(**p).render()}")
    if any(r["errors"] for r in report):
        raise CheckFailed(f"data root {root}: {sum(r['errors'] for r in report)} problem(s) found")
