"""`harness cache info|clear`: inspect or clear the preprocessing cache (HARNESS_CACHE, default
$HARNESS_HOME/cache; entries live under its `preprocess/` folder)."""
from __future__ import annotations

from pathlib import Path

import click

from harness.cli.options import echo_json, json_option

cache_dir_option = click.option(
    "--cache-dir", "cache_dir", type=click.Path(file_okay=False), default=None,
    help="Cache folder (default: HARNESS_CACHE, else $HARNESS_HOME/cache).")


def _root(cache_dir: str | None) -> Path:
    from harness.paths import cache_dir as default_cache_dir

    return Path(cache_dir or default_cache_dir()) / "preprocess"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


@click.group()
def cache() -> None:
    """Inspect or clear the preprocessing cache (faces, aligned clips, flow, region motion)."""


@cache.command()
@cache_dir_option
@json_option
def info(cache_dir: str | None, as_json: bool) -> None:
    """Entries, size and per-kind breakdown of the cache, and where it is."""
    from harness.preprocess.cache import info as cache_info

    report = cache_info(_root(cache_dir))
    if as_json:
        echo_json(report)
        return
    from tabulate import tabulate

    click.echo(f"location: {report['location']}")
    click.echo(f"entries:  {report['entries']} ({_size(report['bytes'])}), code version {report['code_version']}")
    if report["partial_writes"]:
        click.echo(f"partial writes left by killed runs: {report['partial_writes']} (removed by `harness cache clear`)")
    rows = [(kind, k["entries"], _size(k["bytes"])) for kind, k in report["kinds"].items()]
    if rows:
        click.echo(tabulate(rows, headers=["kind", "entries", "size"], tablefmt="github"))


@cache.command()
@cache_dir_option
@click.option("--kind", default=None, help="Only this kind of entry (e.g. flow, track, region_motion).")
@click.option("--older-than", "older_than", default=None,
              help="Only entries not used for this long: 90s, 30m, 12h, 7d, 2w.")
@json_option
def clear(cache_dir: str | None, kind: str | None, older_than: str | None, as_json: bool) -> None:
    """Delete cache entries: all, one --kind, and/or those unused for --older-than."""
    from harness.preprocess.cache import clear as cache_clear, parse_age

    age = parse_age(older_than) if older_than is not None else None
    report = cache_clear(_root(cache_dir), kind=kind, older_than=age)
    if as_json:
        echo_json(report)
        return
    click.echo(f"removed {report['removed']} entries ({_size(report['bytes'])}) from {report['location']}"
               + (f", and {report['partial_writes']} partial writes" if report["partial_writes"] else ""))
