"""`harness data synth|check`."""
from __future__ import annotations

import click

from harness.cli.main import LazyGroup
from harness.cli.options import data_options, data_root_option, echo_json, json_option

SEVERITIES = ("error", "warning", "corrected", "note")


@click.group(cls=LazyGroup, lazy={
    "synth": ("harness.cli.synth:synth", "Write a synthetic corpus in the official layout of real datasets."),
    "check": ("harness.cli.data:check", "Validate a data root; report every problem in one pass."),
    "difficulty": ("harness.cli.data:difficulty",
                   "Score reference classifiers on synthetic corpora; write the difficulty table."),
})
def data() -> None:
    """Synthetic corpus generation and data-root validation."""


@click.command()
@data_root_option
@click.option("--dataset", "datasets", multiple=True, help="Only these dataset keys (default: every folder present).")
@data_options
@json_option
def check(data_root: str | None, datasets: tuple[str, ...], data_options, as_json: bool) -> None:
    """Validate a data root: annotation files, columns, labels, key frames, frame files, duplicate ids.

    Lists the known defects the errata corrected (`corrected`), the defects worked around (`warning`: an apex
    outside onset..offset is treated as missing, a sample whose onset is after its offset or whose offset is 0 is
    excluded), release conventions (`note`) and errors. Frames: every frame of onset..offset must exist, and the
    key frames (onset, apex, offset) must be whole images (signature and end marker; no full decode).

    Exit 0 when there is no error (warnings allowed; with --strict every warning is an error), 1 when problems
    were found, 2 when the root is unusable.
    """
    from harness.datasets import ADAPTERS, load_dataset
    from harness.errors import CheckFailed, HarnessError, Problem
    from harness.paths import resolve_data_root

    for key in datasets:
        ADAPTERS.get(key)  # an unknown key is a usage error ("did you mean"), not a data problem
    root = resolve_data_root(data_root)
    keys = list(datasets) or [k for k in ADAPTERS.names() if (root / k).is_dir()]
    if not keys:
        from harness.errors import BadInput

        raise BadInput(f"{root} holds none of the dataset folders {', '.join(ADAPTERS.names())}")
    report = []
    for key in keys:
        errata: list[str] = []
        try:
            result = load_dataset(root, key, options=data_options)
            problems, n, errata = result.problems, len(result.table), result.errata
            excluded = int(result.table["defect"].notna().sum())
        except HarnessError as exc:  # unreadable file, missing columns: reported, and the other datasets go on
            problems = getattr(exc, "problems", None) or [Problem(str(root / key), str(exc))]
            n = excluded = 0
        count = {s: sum(p.severity == s for p in problems) for s in SEVERITIES}
        report.append({"dataset": key, "samples": n, "excluded": excluded, "errata": errata,
                       "problems": [p.as_dict() for p in problems], "errors": count["error"],
                       "warnings": count["warning"], "corrected": count["corrected"], "notes": count["note"]})
    if as_json:
        echo_json({"data_root": str(root), "options": data_options.describe(), "datasets": report})
    else:
        for r in report:
            status = "ok" if r["errors"] == 0 else f"{r['errors']} error(s)"
            errata = f" by {', '.join(r['errata'])}" if r["errata"] else ""
            excluded = f", {r['excluded']} excluded (key frames contradict)" if r["excluded"] else ""
            click.echo(f"{r['dataset']}: {r['samples']} samples{excluded}, {status}, {r['warnings']} warning(s), "
                       f"{r['corrected']} corrected{errata}, {r['notes']} note(s)")
            for p in sorted(r["problems"], key=lambda p: SEVERITIES.index(p.get("severity", "error"))):
                click.echo(f"  [{p.get('severity', 'error')}] {Problem(**p).render()}")
    if any(r["errors"] for r in report):
        raise CheckFailed(f"data root {root}: {sum(r['errors'] for r in report)} problem(s) found")


@click.command()
@data_root_option
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the --data-root corpus (for the table).")
@click.option("--seeds", default="0,1,2", show_default=True, help="Default corpora to generate and average.")
@click.option("--workers", type=int, default=None, help="Worker threads of the generator.")
@click.option("--no-sweep", is_flag=True, help="Skip the knob sweep.")
@click.option("--no-write", is_flag=True, help="Print the tables, do not update the README.")
@click.option("--readme", type=click.Path(dir_okay=False), default=None,
              help="The README whose difficulty block is replaced (default: harness/synth/README.md).")
def difficulty(data_root: str | None, seed: int, seeds: str, workers: int | None, no_sweep: bool, no_write: bool,
               readme: str | None) -> None:
    """Score reference classifiers on default synthetic corpora (or --data-root) under the real protocols and write
    the difficulty table (with a sweep of the generator's knobs) into harness/synth/README.md."""
    from pathlib import Path

    from harness.cli.submit import parse_seeds
    from harness.experiments.difficulty import README, difficulty_tables, write_readme

    text = difficulty_tables(data_root, seed, parse_seeds(seeds), workers, with_sweep=not no_sweep)
    click.echo(text)
    if not no_write:
        write_readme(text, Path(readme) if readme else README)
