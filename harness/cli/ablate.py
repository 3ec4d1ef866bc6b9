"""`harness ablate BUNDLE`."""
from __future__ import annotations

import click

from harness.cli.options import data_root_option, echo_json, json_option


@click.command()
@click.argument("bundle")
@click.option("--protocol", "-p", default=None, help="Protocol (default: the bundle's ablations.protocol).")
@click.option("--phase", default=None, help="Phase of a phased protocol.")
@click.option("--seeds", default="0", show_default=True, help="Comma-separated seeds.")
@click.option("--profile", default=None, help="Config profile (default: the bundle's default).")
@click.option("--variant", "only", multiple=True, help="Run only these variants.")
@click.option("--executor", default="serial", show_default=True)
@click.option("--workers", type=int, default=None)
@data_root_option
@click.option("--write-readme", is_flag=True, help="Write the table into the bundle's README.md.")
@json_option
def ablate(bundle: str, protocol, phase, seeds: str, profile, only, executor, workers, data_root, write_readme: bool,
           as_json: bool) -> None:
    """Run the ablation variants declared in BUNDLE's bundle.yaml and print a table with 95% CIs."""
    from harness.cli.submit import parse_seeds
    from harness.experiments.ablation import render_table, run_ablations, write_readme as write
    from harness.bundles.discover import resolve_bundle

    meta, rows = run_ablations(bundle, protocol, phase, parse_seeds(seeds), profile, data_root, executor, workers,
                               only, quiet=as_json)
    text = render_table(meta, rows)
    if write_readme:
        path = write(resolve_bundle(bundle), text)
        click.echo(f"wrote {path}", err=True)
    if as_json:
        echo_json({"meta": meta, "rows": [{"variant": r.variant, "overrides": r.overrides, "records": r.records,
                                           "metrics": r.report["metrics"]} for r in rows]})
    else:
        click.echo(text)
