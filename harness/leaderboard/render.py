"""Markdown leaderboards (tabulate, GitHub style) rendered from the store, written atomically.

Measured rows are ranked by the protocol's ranking keys (UF1, then UAR, then ACC, then the earliest
submission); published rows from papers sit in their own, unranked table. Every user-supplied string goes
through `inert()` so that a team called `<script>` or `**win**` renders as plain text; team and system names
also through `shown_name()` (no control or bidirectional characters, at most 64 characters), which the store
enforces on new submissions but older rows may predate. A row whose isolation guarantees did not all hold
(provenance `guarantees_not_held`: fold-batched, no Landlock, ...) is marked and footnoted.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Sequence

from harness.fsutil import atomic_write_bytes, atomic_write_text
from harness.names import printable, shown_name
from harness.paths import leaderboard_dir
from harness.protocols.published import published_rows

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~$])")  # `$` too: GitHub renders $...$ as math


def inert(text: object) -> str:
    """Plain text for a markdown table cell: no control or bidirectional characters, HTML escaped, markdown
    specials backslash-escaped, one line."""
    s = " ".join(printable(text).split())
    s = html.escape(s, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", s)


def board_filename(protocol: str, phase: str | None) -> str:
    return f"{protocol}-{phase}" if phase else protocol


def rank_key(row: dict, ranking: Sequence[str]) -> tuple:
    """Sort key of a measured row: each ranking metric in its direction (higher first unless the metric says
    lower is better), then the earliest submission."""
    from harness.protocols.model import EARLIEST
    from harness.scoring.metrics import METRICS

    key = []
    for r in ranking:
        if r == EARLIEST:
            key.append(row["created_at"])
        else:
            value = row["metrics"][r]["value"]
            key.append(-value if METRICS.get(r).higher_is_better else value)
    return tuple(key)


def measured_rows(store, proto, phase: str | None) -> list[dict]:
    """One row per (team, system): the latest or the best-ranked scored submission, as the protocol says. Only
    submissions under the protocol's current version: another version's scores are not comparable."""
    chosen: dict[tuple[str, str], dict] = {}
    for sub, report in store.board(proto.name, phase, proto.version):
        prov = sub.provenance or {}
        row = {"id": sub.id, "system": sub.system, "team": sub.team, "kind": sub.kind, "created_at": sub.created_at,
               "label": _system_label(sub.system, prov, sub.profile),
               "metrics": report["metrics"], "n_samples": report["n_samples"], "n_seeds": report["n_seeds"],
               "provenance": sub.provenance, "identity": sub.identity, "protocol_version": sub.protocol_version,
               "source": sub.source, "host": sub.host, "report": report}
        key = (sub.team, sub.system)
        if key not in chosen:
            chosen[key] = row
        elif proto.board_keep == "latest":
            chosen[key] = row if row["id"] > chosen[key]["id"] else chosen[key]
        elif rank_key(row, proto.ranking) < rank_key(chosen[key], proto.ranking):
            chosen[key] = row
    return sorted(chosen.values(), key=lambda r: rank_key(r, proto.ranking))


def _system_label(system: str, provenance: dict, profile: str | None) -> str:
    """The bundle's display name (its `name` when it has none) and the profile that ran, as runs record them;
    a scored predictions file has neither and shows its system name alone."""
    name = shown_name((provenance.get("bundle") or {}).get("display_name") or system)
    shown = provenance.get("profile_label") or profile
    return f"{name} · {shown_name(shown)}" if shown else name


def _ci_cell(m: dict) -> str:
    return f"{m['value']:.4f} [{m['ci'][0]:.3f}, {m['ci'][1]:.3f}]"


def _data_label(prov: dict) -> str:
    fp = str(prov.get("data_fingerprint") or "")[:8]
    kind = prov.get("data_kind", "data")
    return f"{kind} {fp}".strip()


def _exclusion_notes(rows: list[dict]) -> list[str]:
    """What the protocol excluded on the data the rows were measured on (reasons and counts from provenance):
    unmapped emotions, the protocol's own list, rows whose key frames contradict with no erratum covering them."""
    by_data: dict[str, list] = {}
    for r in rows:
        by_data.setdefault(_data_label(r["provenance"]), r["provenance"].get("excluded") or [])
    lines = [f"Excluded on {inert(data)}: " + "; ".join(f"{n} {inert(reason)}" for reason, n in excluded) + "."
             for data, excluded in by_data.items() if excluded]
    return lines + [""] if lines else []


def render_board(proto, phase: str | None, rows: list[dict], published: list[dict],
                 provenance_links: dict[int, str], other_versions: dict[str, int] | None = None) -> str:
    from tabulate import tabulate

    from harness.protocols.model import EARLIEST
    from harness.scoring.metrics import title as metric_title

    title = f"{proto.name} — {phase}" if phase else proto.name
    columns, primary = proto.metric_columns(), proto.primary_metric
    order = ", then ".join("earliest submission" if r == EARLIEST else metric_title(r) for r in proto.ranking)
    lines = [f"# Leaderboard: {title}", "",
             f"{proto.title} (protocol v{proto.version}). Ranked by {order}. "
             f"Metrics are computed once on the predictions pooled over all folds, K = {proto.n_classes}; "
             "the 95% confidence intervals come from a bootstrap over subjects. "
             + (f"With several seeds, values are seed means and the seeds column gives {metric_title(primary)} "
                "mean ± std." if any(r["n_seeds"] > 1 for r in rows) else ""), ""]
    if other_versions:
        shown = ", ".join(f"v{v}: {n}" for v, n in sorted(other_versions.items()))
        lines += [f"Not shown: {sum(other_versions.values())} scored submission(s) under other versions of the "
                  f"protocol ({shown}); scores of different versions are not comparable.", ""]
    if phase:
        lines += [f"Phase `{phase}`: {proto.phases[phase].limits.describe()}; each (team, system) shows its "
                  f"{'best-ranked' if proto.board_keep == 'best' else 'latest'} scored submission.", ""]
    lines += _exclusion_notes(rows)
    lines += ["## Measured here", ""]
    if rows:
        lines += ["Each system is shown with the profile (configuration) that ran. `paper` is the method's "
                  "published configuration; `quick (reduced)` is a CPU-sized reduction of the method (fewer "
                  "epochs, narrower models or a smaller hyper-parameter search), so its scores are not those of "
                  "the published setting; each bundle's README says what `quick` reduces and by how much.", ""]
        table = []
        for i, r in enumerate(rows, start=1):
            m = r["metrics"]
            seeds = (f"{m[primary]['value']:.3f} ± {m[primary]['std']:.3f} ({r['n_seeds']})" if r["n_seeds"] > 1
                     else "1")
            link = provenance_links.get(r["id"])
            marked = " †" if _not_held(r) else ""
            table.append([i, inert(r["label"]) + marked, inert(shown_name(r["team"])), inert(r["kind"]),
                          *(_ci_cell(m[c]) for c in columns), seeds, r["n_samples"],
                          inert(_data_label(r["provenance"])), r["created_at"][:10],
                          f"[{link.rsplit('/', 1)[-1][:12]}]({link})" if link else "—"])
        lines.append(tabulate(table, headers=["Rank", "System · profile", "Team", "Kind",
                                              *(f"{metric_title(c)} [95% CI]" for c in columns), "Seeds", "N",
                                              "Data", "Date", "Provenance"],
                              tablefmt="github", disable_numparse=True))
        notes = [f"{inert(r['label'])} ({inert(shown_name(r['team']))}): "
                 + "; ".join(inert(t) for t in _not_held(r)) for r in rows if _not_held(r)]
        if notes:
            lines += ["", "† Isolation guarantees that did not hold for this row (see the README's guarantees): "
                      + " · ".join(notes)]
    else:
        lines.append("No scored submissions yet.")
    if published:
        lines += ["", "## Published (reported in papers on the real dataset; not measured here, not ranked)", ""]
        table = []
        for r in published:
            note = f" ({inert(r['note'])})" if r.get("note") else ""
            table.append([inert(r["system"]), inert(r.get("team", "—")), "published",
                          *(f"{float(r[c]):.4f}" if r.get(c) is not None else "—" for c in columns),
                          inert(r["source"]) + note])
        lines.append(tabulate(table, headers=["System", "Team", "Kind", *(metric_title(c) for c in columns),
                                              "Source"], tablefmt="github", disable_numparse=True))
    return "\n".join(lines) + "\n"


def _not_held(row: dict) -> list[str]:
    return [str(t) for t in (row.get("provenance") or {}).get("guarantees_not_held") or []]


def _provenance_name(row: dict) -> str:
    ident = row.get("identity") or f"submission-{row['id']}"
    return f"{ident[:16]}.json"


def write_boards(protocol: str | None = None, store=None, out_dir: Path | None = None) -> list[Path]:
    """Render and write the boards of one protocol (or all), each file atomically; returns the files written.

    Writing all boards also removes provenance files that no board links to any more (results superseded by a
    newer run of the same system), so that the folder holds exactly what the boards cite.
    """
    from harness.protocols import get_protocol, protocol_names
    from harness.store.db import open_store

    own = store is None
    store = store or open_store()
    out = Path(out_dir or leaderboard_dir(store.path))
    written = []
    cited: set[str] = set()
    try:
        for name in [protocol] if protocol else protocol_names():
            proto = get_protocol(name)
            for phase in proto.board_names():
                rows = measured_rows(store, proto, phase)
                links = {}
                for r in rows:
                    fname = _provenance_name(r)
                    prov = {"submission": r["id"], "system": r["system"], "team": r["team"], "kind": r["kind"],
                            "protocol": proto.name, "protocol_version": r["protocol_version"], "phase": phase,
                            "created_at": r["created_at"], "scores": r["report"], "provenance": r["provenance"]}
                    _write_if_changed(out / "provenance" / fname, json.dumps(prov, indent=2, default=str) + "\n")
                    links[r["id"]] = f"provenance/{fname}"
                    cited.add(fname)
                others = {v: n for v, n in store.board_versions(proto.name, phase).items() if v != proto.version}
                text = render_board(proto, phase, rows, published_rows(proto.name, phase, proto.primary_metric),
                                    links, others)
                path = out / f"{board_filename(proto.name, phase)}.md"
                _write_if_changed(path, text)
                written.append(path)
                if rows:
                    written.append(_write_figure(out / f"{board_filename(proto.name, phase)}.png", proto, phase, rows))
        if protocol is None:
            for stale in (out / "provenance").glob("*.json"):
                if stale.name not in cited:
                    stale.unlink()
    finally:
        if own:
            store.close()
    return written


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    atomic_write_text(path, text)


def _write_figure(path: Path, proto, phase: str | None, rows: list[dict]) -> Path:
    """The primary metric (UF1) with its 95% CI per measured row (horizontal error bars), PNG without timestamps."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from harness.scoring.metrics import title as metric_title

    primary = proto.primary_metric
    names = [f"{r['label']} ({shown_name(r['team'])})" for r in rows][::-1]
    vals = [r["metrics"][primary]["value"] for r in rows][::-1]
    lo = [v - r["metrics"][primary]["ci"][0] for v, r in zip(vals, rows[::-1])]
    hi = [r["metrics"][primary]["ci"][1] - v for v, r in zip(vals, rows[::-1])]
    width = max(7.0, 4.0 + 0.065 * max(len(n) for n in names))  # room for the longest "name · profile (team)"
    fig, ax = plt.subplots(figsize=(width, 0.45 * len(rows) + 1.2), dpi=100)
    ax.errorbar(vals, range(len(vals)), xerr=[lo, hi], fmt="o", capsize=3)
    ax.axvline(1.0 / proto.n_classes, color="grey", linestyle=":", linewidth=1, label="chance (1/K)")
    ax.set_yticks(range(len(vals)))
    ax.set_yticklabels(names, fontsize=8, parse_math=False)  # a name like `$x^$` is text, not mathtext
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"{metric_title(primary)} with 95% CI (bootstrap over subjects)")
    ax.set_title(f"{proto.name}{' ' + phase if phase else ''}", fontsize=10)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    data = buf.getvalue()
    if not (path.exists() and path.read_bytes() == data):
        atomic_write_bytes(path, data)
    return path
