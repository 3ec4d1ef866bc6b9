"""Print the latest saved benchmark run (`make bench`) as a markdown table: group, case, median, ratio to best.

Usage: python -m tests.bench.report [.benchmarks]
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


def latest_run(storage: Path) -> Path:
    runs = sorted(storage.rglob("*.json"), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise SystemExit(f"no saved benchmark runs under {storage}; run `make bench` first")
    return runs[-1]


def table(run: Path) -> str:
    data = json.loads(run.read_text())
    groups: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for b in data["benchmarks"]:
        case = b["name"].split("[", 1)[-1].rstrip("]").removeprefix("test_").removeprefix("bench_")
        groups[b["group"] or b["name"]].append((case, b["stats"]["median"]))
    lines = ["| benchmark | case | median | vs fastest |", "|---|---|---|---|"]
    for group in sorted(groups):
        best = min(m for _, m in groups[group])
        for name, median in sorted(groups[group], key=lambda x: x[1]):
            unit = f"{median * 1e3:.1f} ms" if median < 10 else f"{median:.1f} s"
            lines.append(f"| {group} | {name} | {unit} | {median / best:.1f}x |")
    machine = data.get("machine_info", {})
    lines.append(f"\n{machine.get('cpu', {}).get('brand_raw', 'unknown CPU')}, {machine.get('cpu', {}).get('count', '?')}"
                 f" cores, Python {machine.get('python_version', '?')}; run {run.stem} ({data.get('datetime', '')[:19]}).")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(latest_run(Path(sys.argv[1] if len(sys.argv) > 1 else ".benchmarks"))))
