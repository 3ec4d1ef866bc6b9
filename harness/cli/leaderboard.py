"""`harness leaderboard [--protocol P]`."""
from __future__ import annotations

import click


@click.command()
@click.option("--protocol", "-p", default=None, help="Only this protocol's boards (default: all).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for the boards (default: HARNESS_LEADERBOARD_DIR; else the checkout's leaderboard/ for the "
                   "checkout's own store, <checkout>/.harness; else HARNESS_HOME/leaderboard).")
def leaderboard(protocol: str | None, out: str | None) -> None:
    """Render leaderboard/<protocol>[-<phase>].md (+ .png) from the results store."""
    from pathlib import Path

    from harness.leaderboard.render import write_boards
    from harness.protocols import get_protocol

    if protocol:
        get_protocol(protocol)  # unknown name -> "did you mean"
    for path in write_boards(protocol, out_dir=Path(out) if out else None):
        click.echo(str(path))
