"""`harness leaderboard [--protocol P] [--format md|csv|json|latex]`."""
from __future__ import annotations

import click

from harness.leaderboard.formats import FORMATS


@click.command()
@click.option("--protocol", "-p", default=None, help="Only this protocol's boards (default: all).")
@click.option("--phase", default=None, help="Only this phase's board (with --protocol).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for the boards (default: HARNESS_LEADERBOARD_DIR; else the checkout's leaderboard/ for the "
                   "checkout's own store, <checkout>/.harness; else HARNESS_HOME/leaderboard).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True,
              help="md: render the board files (+ figures, detail pages); csv, json, latex: print the boards' rows "
                   "(ranked measured rows, tiers, CIs, per-dataset parts, published rows) to stdout or -o.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="File for csv / json / latex (default: stdout).")
def leaderboard(protocol: str | None, phase: str | None, out: str | None, fmt: str, output: str | None) -> None:
    """Render leaderboard/<protocol>[-<phase>].md (+ .png, details/) from the results store, or export the
    boards' rows as CSV, JSON or a LaTeX table."""
    from pathlib import Path

    from harness.errors import BadInput
    from harness.protocols import get_protocol, protocol_names

    if protocol:
        proto = get_protocol(protocol)  # unknown name -> "did you mean"
        if phase is not None:
            proto.check_phase(phase)
    elif phase is not None:
        raise BadInput("--phase needs --protocol")
    if fmt == "md":
        if output:
            raise BadInput("-o is for --format csv, json or latex; the markdown boards go to --out (a folder)")
        from harness.leaderboard.render import write_boards

        for path in write_boards(protocol, out_dir=Path(out) if out else None):
            click.echo(str(path))
        return
    from harness.leaderboard import formats
    from harness.store.db import open_store

    boards = [(get_protocol(p), ph) for p in ([protocol] if protocol else protocol_names())
              for ph in get_protocol(p).board_names() if phase is None or ph == phase]
    with open_store() as store:
        per_board = [(proto, ph, formats.board_records(store, proto, ph)) for proto, ph in boards]
    if fmt == "latex":
        text = "\n".join(formats.to_latex(recs, proto.metric_columns(),
                                          f"{proto.title}{' ' + ph if ph else ''} (95% CI: bootstrap over subjects; "
                                          "tiers: paired permutation test at the 5% level)")
                         for proto, ph, recs in per_board)
    else:
        records = [r for _, _, recs in per_board for r in recs]
        text = formats.to_csv(records) if fmt == "csv" else formats.to_json(records)
    if output:
        from harness.fsutil import atomic_write_text

        atomic_write_text(Path(output), text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
