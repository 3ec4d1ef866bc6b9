"""Markdown leaderboards (tabulate, GitHub style) rendered from the store, written atomically.

Measured rows are ranked by the protocol's ranking keys (UF1, then UAR, then ACC, then the earliest
submission); published rows from papers sit in their own, unranked table. Every user-supplied string goes
through `inert()` so that a team called `<script>` or `**win**` renders as plain text; team and system names
also through `shown_name()` (no control or bidirectional characters, at most 64 characters), which the store
enforces on new submissions but older rows may predate. A row whose isolation guarantees did not all hold
(provenance `guarantees_not_held`: fold-batched, no Landlock, ...) is marked and footnoted.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from harness.leaderboard.cells import ci_cell, data_label, inert, write_if_changed
from harness.names import shown_name
from harness.paths import leaderboard_dir
from harness.protocols.published import published_rows

__all__ = ["inert", "measured_rows", "published_rows", "rank_key", "render_board", "write_boards"]

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


#: A row's interval is "skewed" when its point lies in the outer fifth of it (a percentile bootstrap over few
#: subjects is lopsided and unreliable), or when it rests on fewer subjects than this.
FEW_SUBJECTS = 10
SKEW = 0.3


def skewed(m: dict, n_subjects: int | None) -> bool:
    low, high, v = m["ci"][0], m["ci"][1], m["value"]
    if high - low <= 0:
        return False
    lopsided = abs((high - v) - (v - low)) / (high - low) > 2 * SKEW
    return lopsided or (n_subjects is not None and n_subjects < FEW_SUBJECTS)


def _exclusion_notes(rows: list[dict]) -> list[str]:
    """What the protocol excluded on the data the rows were measured on (reasons and counts from provenance):
    unmapped emotions, the protocol's own list, rows whose key frames contradict with no erratum covering them."""
    by_data: dict[str, list] = {}
    for r in rows:
        by_data.setdefault(data_label(r["provenance"]), r["provenance"].get("excluded") or [])
    lines = [f"Excluded on {inert(data)}: " + "; ".join(f"{n} {inert(reason)}" for reason, n in excluded) + "."
             for data, excluded in by_data.items() if excluded]
    return lines + [""] if lines else []


def render_board(proto, phase: str | None, rows: list[dict], published: list[dict],
                 provenance_links: dict[int, str], other_versions: dict[str, int] | None = None,
                 tiers: dict | None = None, detail_links: dict[int, str] | None = None) -> str:
    from tabulate import tabulate

    from harness.protocols.model import EARLIEST
    from harness.scoring.metrics import title as metric_title

    title = f"{proto.name} — {phase}" if phase else proto.name
    columns, primary = proto.metric_columns(), proto.primary_metric
    order = ", then ".join("earliest submission" if r == EARLIEST else metric_title(r) for r in proto.ranking)
    pooled = ("the predictions pooled over all folds" if not proto.splitter.phased
              else "the predictions for the phase's test split")
    lines = [f"# Leaderboard: {title}", "",
             f"{proto.title} (protocol v{proto.version}). Ranked by {order}. "
             f"Metrics are computed once on {pooled}, K = {proto.n_classes}; "
             "the 95% confidence intervals come from a bootstrap over subjects. "
             + ("With several seeds, values are seed means ± std over seeds, beside the bootstrap interval."
                if any(r["n_seeds"] > 1 for r in rows) else ""), ""]
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
                  "the published setting; each bundle's README says what `quick` reduces and by how much, and each "
                  "row's detail page lists what its `quick` changes from `paper`, key by key.", ""]
        tiers = tiers if tiers is not None else {}
        table = []
        for i, r in enumerate(rows, start=1):
            m = r["metrics"]
            link = provenance_links.get(r["id"])
            detail = (detail_links or {}).get(r["id"])
            marked = " †" if _not_held(r) else ""
            skew = " ‡" if skewed(m[primary], r["report"].get("n_subjects")) else ""
            tier = tiers.get(r["id"])
            table.append([i, _tier_cell(tier), inert(r["label"]) + marked, inert(shown_name(r["team"])),
                          inert(r["kind"]), *(ci_cell(m[c], r["n_seeds"]) + (skew if c == primary else "")
                                              for c in columns),
                          r["n_seeds"], r["n_samples"], inert(data_label(r["provenance"])), r["created_at"][:10],
                          f"[classes]({detail})" if detail else "—",
                          f"[{link.rsplit('/', 1)[-1][:12]}]({link})" if link else "—"])
        lines.append(tabulate(table, headers=["Rank", "Tier", "System · profile", "Team", "Kind",
                                              *(f"{metric_title(c)} [95% CI]" for c in columns), "Seeds", "N",
                                              "Data", "Date", "Detail", "Provenance"],
                              tablefmt="github", disable_numparse=True))
        from harness.leaderboard.tiers import method_note

        lines += ["", method_note(metric_title(primary))]
        untiered = sorted({t.why for t in tiers.values() if t.tier is None})
        if untiered:
            lines += ["", "Tier —: " + "; ".join(untiered) + "."]
        if any(skewed(r["metrics"][primary], r["report"].get("n_subjects")) for r in rows):
            lines += ["", f"‡ The {metric_title(primary)} interval is skewed (its point lies in the outer fifth) or "
                          f"rests on fewer than {FEW_SUBJECTS} subjects: a percentile bootstrap over so few subjects "
                          "is lopsided and unreliable; read it as a rough range and prefer the paired tiers."]
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
                          _published_n(r), citation(r) + note])
        lines.append(tabulate(table, headers=["System", "Team", "Kind", *(metric_title(c) for c in columns),
                                              "N", "Source"], tablefmt="github", disable_numparse=True))
    lines += _parts_table(proto, rows, published)
    return "\n".join(lines) + "\n"


def _tier_cell(tier) -> str:
    if tier is None or tier.tier is None:
        return "—"
    return f"{tier.tier}" + (f" (p={tier.p:.2f})" if tier.p is not None else "")


def _parts_table(proto, rows: list[dict], published: list[dict]) -> list[str]:
    """A multi-dataset board's per-dataset columns (Full, then each dataset's part of the pooled predictions,
    in the protocol's order), measured and published rows; empty for a single dataset."""
    from tabulate import tabulate

    from harness.scoring.metrics import title as metric_title

    parts = proto.part_titles()
    if not parts:
        return []
    columns = proto.metric_columns()
    table = []
    for r in rows:
        got = r["report"].get("parts") or {}
        cells = [f"{r['metrics'][c]['value']:.4f}" for c in columns]
        for d in parts:
            cells += [f"{got[d]['metrics'][c]['value']:.4f}" if d in got and c in got[d]["metrics"] else "—"
                      for c in columns]
        table.append([inert(r["label"]), inert(r["kind"]), *cells])
    for r in published:
        got = r.get("parts") or {}
        cells = [f"{float(r[c]):.4f}" if r.get(c) is not None else "—" for c in columns]
        for d in parts:
            cells += [f"{float(got[d][c]):.4f}" if got.get(d, {}).get(c) is not None else "—" for c in columns]
        table.append([inert(r["system"]), "published", *cells])
    names = ["Full", *parts.values()]
    headers = ["System", "Kind", *(f"{n} {metric_title(c)}" for n in names for c in columns)]
    return ["", f"## Per dataset ({' / '.join(names)})", "",
            "As MEGC2019 reports a composite: the metrics of the pooled predictions (Full) and of each dataset's part "
            "of them (the same predictions, K fixed); published rows where the paper gives the breakdown "
            "(their subject-bootstrap intervals are on each row's detail page).", "",
            tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)]


def _published_n(row: dict) -> str:
    """The paper's test-set size where it gives one, and how it differs from ours (its `n_note`)."""
    if row.get("n") is None:
        return "—"
    return f"{int(row['n'])}" + (f" ({inert(row['n_note'])})" if row.get("n_note") else "")


def citation_text(row: dict) -> str:
    """Authors, title, venue, year and DOI or URL of a published row (and the table it comes from); its
    free-text `source` if it has no `cite`. Plain text (the CSV, JSON and LaTeX formats)."""
    cite = row.get("cite") or {}
    if not cite:
        return str(row.get("source", "—"))
    link = f"doi:{cite['doi']}" if cite.get("doi") else cite.get("url", "")
    text = ", ".join(str(x) for x in (cite.get("authors"), cite.get("title"), cite.get("venue"), cite.get("year"),
                                      link) if x)
    return text + (f"; {row['where']}" if row.get("where") else "")


def citation(row: dict) -> str:
    """The citation as an inert markdown cell."""
    return inert(citation_text(row))


def _not_held(row: dict) -> list[str]:
    return [str(t) for t in (row.get("provenance") or {}).get("guarantees_not_held") or []]


def _provenance_name(row: dict) -> str:
    ident = row.get("identity") or f"submission-{row['id']}"
    return f"{ident[:16]}.json"


def write_boards(protocol: str | None = None, store=None, out_dir: Path | None = None) -> list[Path]:
    """Render and write the boards of one protocol (or all), each file atomically; returns the files written.

    Each measured row gets its provenance JSON and a detail page (details/: markdown + confusion figure), both
    linked from the board. Writing all boards also removes provenance and detail files that no board links to
    any more (results superseded by a newer run of the same system), so that the folders hold exactly what the
    boards cite.
    """
    from harness.leaderboard.details import write_detail
    from harness.leaderboard.figures import board_figure
    from harness.leaderboard.tiers import assign_tiers
    from harness.protocols import get_protocol, protocol_names
    from harness.store.db import open_store

    own = store is None
    store = store or open_store()
    out = Path(out_dir or leaderboard_dir(store.path))
    written = []
    cited: set[str] = set()
    detailed: set[str] = set()
    try:
        for name in [protocol] if protocol else protocol_names():
            proto = get_protocol(name)
            for phase in proto.board_names():
                rows = measured_rows(store, proto, phase)
                board_file = f"{board_filename(proto.name, phase)}.md"
                links, details = {}, {}
                for r in rows:
                    fname = _provenance_name(r)
                    prov = {"submission": r["id"], "system": r["system"], "team": r["team"], "kind": r["kind"],
                            "protocol": proto.name, "protocol_version": r["protocol_version"], "phase": phase,
                            "created_at": r["created_at"], "scores": r["report"], "provenance": r["provenance"]}
                    write_if_changed(out / "provenance" / fname, json.dumps(prov, indent=2, default=str) + "\n")
                    links[r["id"]] = f"provenance/{fname}"
                    cited.add(fname)
                    stem = f"{board_filename(proto.name, phase)}-{Path(fname).stem}"
                    detailed.update(write_detail(out, stem, proto, phase, r, board_file, links[r["id"]]))
                    details[r["id"]] = f"details/{stem}.md"
                others = {v: n for v, n in store.board_versions(proto.name, phase).items() if v != proto.version}
                published = published_rows(proto.name, phase, proto.primary_metric)
                text = render_board(proto, phase, rows, published, links, others,
                                    tiers=assign_tiers(rows, proto.primary_metric), detail_links=details)
                path = out / board_file
                write_if_changed(path, text)
                written.append(path)
                if rows:
                    written.append(board_figure(out / f"{board_filename(proto.name, phase)}.png", proto, phase, rows,
                                                published))
        if protocol is None:
            for folder, keep in (("provenance", cited), ("details", detailed)):
                for stale in (out / folder).glob("*"):
                    if stale.is_file() and stale.name not in keep:
                        stale.unlink()
    finally:
        if own:
            store.close()
    return written
