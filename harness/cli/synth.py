"""`harness data synth`: write a synthetic corpus in the official layout of real datasets (harness/synth/)."""
from __future__ import annotations

import click

from harness.cli.options import echo_json
from harness.synth.config import knob_docs

_KNOBS = "\n".join(f"  {name} (default {default}): {doc}" for name, default, doc in knob_docs())


@click.command(epilog="\b\nSettings for --set key=value:\n" + _KNOBS)
@click.option("--like", required=True, metavar="DATASET",
              help="dfme, casme3, casme2, samm, smic, a comma list of them, or all.")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Data root to write ROOT/<dataset>/ and ROOT/_truth/ into "
                   "(default: the embedded corpus location, $HARNESS_HOME/synthetic).")
@click.option("--scale", default="default", show_default=True, metavar="SCALE",
              help="default (the small corpus of CI and the main job) or official (each dataset at its release's "
                   "size and composition: subjects, samples, class and frame-rate counts; minutes and gigabytes, "
                   "see harness/synth/README.md).")
@click.option("--subjects", type=int, default=None, help="Subjects per dataset (default: per-dataset, see specs).")
@click.option("--size", type=int, default=None, help="Frame width and height in pixels (default 128).")
@click.option("--seed", type=int, default=0, show_default=True, help="Master seed; same seed and settings give "
              "byte-identical files.")
@click.option("--amplitude", type=float, default=None, help="Apex displacement of one AU in pixels (default 1.6).")
@click.option("--noise", type=float, default=None, help="Sensor noise s.d. in grey levels (default 1.5).")
@click.option("--label-noise", "label_noise", type=float, default=None,
              help="Share of samples whose motion comes from another emotion (default 0.05).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="Any generator setting (see below).")
@click.option("--workers", type=int, default=None,
              help="Worker threads (default: min(2, CPUs)); output is identical.")
@click.option("--force", is_flag=True, help="Replace datasets already present under --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest summary as JSON.")
def synth(like: str, out: str | None, scale: str, subjects: int | None, size: int | None, seed: int, amplitude: float | None,
          noise: float | None, label_noise: float | None, settings: tuple[str, ...], workers: int | None,
          force: bool, quiet: bool, as_json: bool) -> None:
    """Write a synthetic micro-expression corpus laid out exactly like the real releases.

    Each dataset goes to ROOT/<key>/ (annotation workbooks, frame folders, file names as released; DFME with its
    training / testA / testB files) and its ground truth (AU intensities, displacement-field parameters, head
    motion) to ROOT/_truth/<key>/, which no adapter reads. ROOT/_truth/corpus.json records seed, settings and
    generator version.
    """
    from pathlib import Path

    from harness.errors import BadInput
    from harness.paths import default_synthetic_root
    from harness.synth.config import build_config, parse_setting
    from harness.synth.writer import generate

    values: dict = dict(parse_setting(s) for s in settings)
    for key, v in (("size", size), ("amplitude", amplitude), ("noise", noise), ("label_noise", label_noise)):
        if v is not None:
            if key in values and values[key] != v:
                raise BadInput(f"--{key.replace('_', '-')} {v} and --set {key}={values[key]} disagree; give one")
            values[key] = v
    if workers is not None and workers < 1:
        raise BadInput(f"--workers must be at least 1 (got {workers})")
    config = build_config(values)
    root = Path(out) if out else default_synthetic_root()
    summary = generate(root, like, seed=seed, config=config, subjects=subjects, workers=workers, force=force,
                       progress=not quiet, scale=scale)
    rows = [{"dataset": k, "subjects": m["subjects"], "samples": m["samples"], "clips": m["clips"],
             "frames": m["frames"]} for k, m in summary.datasets.items()]
    if as_json:
        echo_json({"root": str(summary.root), "seed": seed, "scale": scale, "config": config.as_dict(),
                   "datasets": rows,
                   "frames": summary.frames, "seconds": round(summary.seconds, 1)})
        return
    from tabulate import tabulate

    click.echo(tabulate(rows, headers="keys"))
    click.echo(f"wrote {summary.frames} frames to {summary.root} in {summary.seconds:.1f} s "
               f"(seed {seed}; manifest {summary.root / '_truth' / 'corpus.json'})")
