"""`harness ablate`: run a bundle's ablation variants and tabulate them with confidence intervals.

Variants live in the bundle manifest (`ablations: {protocol, phase?, variants: {name: {config overrides}}}`), so the
table in the bundle's README is reproduced by one command. Runs go to a separate store (they are experiments,
not leaderboard entries) and reuse identical earlier runs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from harness.errors import BadInput

START, END = "<!-- ablation:start -->", "<!-- ablation:end -->"


@dataclass
class AblationRow:
    variant: str
    overrides: dict[str, Any]
    report: dict
    records: dict[str, float]


def ablation_spec(bundle) -> dict:
    spec = bundle.extra.get("ablations")
    if not isinstance(spec, dict) or not isinstance(spec.get("variants"), dict) or not spec["variants"]:
        raise BadInput(f"bundle {bundle.name} declares no ablations (bundle.yaml: ablations: {{protocol: ..., "
                       "variants: {name: {key: value}}}})")
    for name, over in spec["variants"].items():
        if over is not None and not isinstance(over, dict):
            raise BadInput(f"bundle {bundle.name}: ablation variant {name!r} must map config keys to values")
    return spec


def _mean_records(fold_records: dict) -> dict[str, float]:
    """Numbers the bundle recorded, averaged over folds and seeds (parameter counts, FLOPs, latency...)."""
    values: dict[str, list[float]] = {}
    for seed_records in fold_records.values():
        for rec in seed_records.values():
            for k, v in rec.items():
                if k != "wall_s" and isinstance(v, (int, float)) and not isinstance(v, bool):
                    values.setdefault(k, []).append(float(v))
    return {k: sum(v) / len(v) for k, v in values.items()}


def run_ablations(bundle_ref: str, protocol: str | None = None, phase: str | None = None, seeds: Sequence[int] = (0,),
                  profile: str | None = None, data_root=None, executor: str = "serial", workers: int | None = None,
                  only: Sequence[str] = (), quiet: bool = True) -> tuple[dict, list[AblationRow]]:
    from harness.bundles.discover import resolve_bundle
    from harness.bundles.manifest import load_bundle
    from harness.evaluate.request import RunRequest
    from harness.evaluate.submit import submit
    from harness.paths import harness_home
    from harness.store.db import open_store

    bundle = load_bundle(resolve_bundle(bundle_ref))
    spec = ablation_spec(bundle)
    if protocol is None or protocol == spec.get("protocol"):  # the manifest's phase belongs to its protocol
        phase = phase or spec.get("phase")
    protocol = protocol or spec.get("protocol")
    if not protocol:
        raise BadInput("no protocol: give --protocol or set ablations.protocol in bundle.yaml")
    variants = {k: dict(v or {}) for k, v in spec["variants"].items() if not only or k in only}
    unknown = set(only) - set(spec["variants"])
    if unknown:
        raise BadInput(f"unknown ablation variant(s) {', '.join(sorted(unknown))}; known: {', '.join(spec['variants'])}")
    store_path = harness_home() / "ablations.sqlite"
    rows = []
    for name, overrides in variants.items():
        out = submit(RunRequest(protocol, phase, bundle=bundle.path, seeds=tuple(seeds), profile=profile,
                                data_root=data_root, executor=executor, workers=workers, quiet=quiet, host=True,
                                overrides=overrides, store_path=store_path))
        with open_store(store_path) as store:
            sub = store.get_submission(out.submission_id)
            records = _mean_records(sub.provenance.get("fold_records", {}))
        rows.append(AblationRow(name, overrides, out.report, records))
    meta = {"bundle": bundle.name, "protocol": protocol, "phase": phase, "seeds": list(seeds),
            "profile": profile or bundle.default_profile}
    return meta, rows


def render_table(meta: dict, rows: list[AblationRow]) -> str:
    from tabulate import tabulate

    from harness.protocols import get_protocol
    from harness.scoring.metrics import title

    def cell(m: dict) -> str:
        return f"{m['value']:.3f} [{m['ci'][0]:.3f}, {m['ci'][1]:.3f}]"

    columns = get_protocol(meta["protocol"]).metric_columns()
    extra = sorted({k for r in rows for k in r.records})
    table = []
    for r in rows:
        m = r.report["metrics"]
        over = ", ".join(f"{k}={v}" for k, v in r.overrides.items()) or "(defaults)"
        table.append([r.variant, over, *(cell(m[c]) for c in columns)] + [_fmt(r.records.get(k)) for k in extra])
    where = meta["protocol"] + (f" {meta['phase']}" if meta["phase"] else "")
    seeds = ",".join(str(s) for s in meta["seeds"])
    names = "/".join(title(c) for c in columns)
    head = (f"Ablations of `{meta['bundle']}` on {where} (profile `{meta['profile']}`, seeds {seeds}; synthetic corpus "
            f"unless stated). {names} with 95% CIs from a bootstrap over subjects; other columns are the numbers "
            f"the bundle recorded, averaged over folds. Reproduce: `harness ablate {meta['bundle']} --protocol "
            f"{meta['protocol']}" + (f" --phase {meta['phase']}" if meta["phase"] else "")
            + f" --seeds {seeds} --write-readme`.")
    return head + "\n\n" + tabulate(table, headers=["variant", "overrides", *(f"{title(c)} [95% CI]" for c in columns),
                                                    *extra], tablefmt="github", disable_numparse=True) + "\n"


def _fmt(v: float | None) -> str:
    if v is None:
        return "—"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2f}M"
    if abs(v) >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.3g}"


def write_readme(bundle_dir: Path, text: str) -> Path:
    """Put `text` between the ablation markers of the bundle README (appending a section if none)."""
    from harness.fsutil import atomic_write_text

    readme = Path(bundle_dir) / "README.md"
    old = readme.read_text(encoding="utf-8") if readme.exists() else f"# {Path(bundle_dir).name}\n"
    block = f"{START}\n{text}{END}"
    if START in old and END in old:
        new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, old, flags=re.S)
    else:
        new = old.rstrip() + "\n\n## Ablations\n\n" + block + "\n"
    atomic_write_text(readme, new)
    return readme
