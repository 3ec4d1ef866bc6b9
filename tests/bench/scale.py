"""The scale benchmark: every shipped bundle on every protocol at the releases' sizes (`python3 dev.py
bench-scale`, `make bench-scale`; not part of CI or the test suite).

What it does, for each protocol (and phase) and bundle:
1. the official-size synthetic corpus (`harness data synth --like all --scale official`), generated once into the
   work folder (timed, its size measured);
2. the frames staged once per harness home (timed: the first copy, then the check every later run makes);
3. a *cold* run (`harness submit --rerun`, the quick profile, `--executor local --workers N`) with the
   preprocessing cache emptied first, then a *warm* run with the cache that run left;
4. per run: wall time, CPU time of the whole process tree (`getrusage(RUSAGE_CHILDREN)`), peak RSS and PSS of
   the whole tree (a /proc sampler summing every process alive at each tick, see proctree.py), and the stage
   split read back from the store: preprocessing (read, landmarks, align, flow, regions, cache: the fold
   supervisors' clocks, harness/preprocess/timing.py), feature extraction, training and prediction (each
   fold's own clock, exclusive of what it waited for), with per-fold means for the neural bundles;
5. what the rest of the machine did meanwhile (other jobs' CPU, steal), so a table says whether it was quiet.

A run past `--budget-s` is interrupted (the store keeps its whole folds) and, if it finished at least
MIN_STEADY_FOLDS folds beyond the first `workers`, its total is extrapolated from its folds (otherwise the table
gives its elapsed time as a lower bound, `>`): elapsed + (folds left) x (median wall of its steady folds) / workers, and its CPU time at the same rate
(CPU so far x estimated wall / elapsed). Such cells are marked `~`; the run is
then abandoned in the benchmark's own store. Results: `<out>.json` (everything) and `<out>.md` (the tables).

Usage: python -m tests.bench.scale [--work DIR] [--bundles a,b] [--protocols p[:phase],...] [--budget-s S]
       [--warm-budget-s S] [--workers N] [--out PATH] [--main]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from statistics import median
from typing import Any

from tests.bench.proctree import TreeSampler, children_cpu, cpu_times

ROOT = Path(__file__).resolve().parents[2]
#: supervisor stages (harness/preprocess/timing.py) that make up "preprocessing"
PRE_STAGES = ("read", "landmarks", "align", "flow", "regions", "cache")
GIB = 1 << 30
#: folds past the first `workers` (which carry the cold preprocessing) that an extrapolation needs; with fewer,
#: the table gives the run's elapsed time as a lower bound (`>`) instead of an estimate
MIN_STEADY_FOLDS = 2


def all_cells() -> list[str]:
    """Every shipped protocol, each phase of a phased one as its own cell (`protocol:phase`)."""
    from harness.protocols import get_protocol, protocol_names

    return [f"{name}:{phase}" if phase else name for name in protocol_names()
            for phase in (list(get_protocol(name).phases) or [None])]


def shipped_bundles() -> list[str]:
    """Every shipped bundle (baselines/, submissions/), the classic ones first (they finish in minutes)."""
    from harness.bundles.discover import discover_bundles
    from harness.bundles.manifest import load_bundle

    found = discover_bundles()
    return sorted(found, key=lambda name: (load_bundle(found[name]).neural, name))


def harness_bin() -> str:
    return str(Path(sys.executable).with_name("harness"))


def _env(home: Path) -> dict[str, str]:
    # cache, data and boards follow the benchmark's own home (harness.paths: a home below <checkout>/.harness,
    # where the work folder lives by default, is not the checkout's, so its boards stay in it)
    env = {k: v for k, v in os.environ.items()
           if k not in ("HARNESS_CACHE", "HARNESS_DATA_ROOT", "HARNESS_LEADERBOARD_DIR")}
    env["HARNESS_HOME"] = str(home)
    return env


def du(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def conditions() -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True)
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit.stdout.strip(),
            "dirty": bool(dirty.stdout.strip()), "cpus": os.cpu_count(), "python": sys.version.split()[0]}


def deliverable_interrupts() -> None:
    """Let the runs this benchmark starts receive SIGINT at their budget. A job started in the background by a
    shell without job control (`nohup python3 dev.py bench-scale ... &` in a script) ignores SIGINT, every
    program it execs inherits that, and Python then installs no KeyboardInterrupt handler: each interrupted run
    went on until the SIGKILL two minutes later. A handled (not ignored) signal is reset to its default on exec."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def measured(cmd: list[str], env: dict[str, str], budget_s: float | None = None) -> dict[str, Any]:
    """Run `cmd` (in its own session), sampling its tree; interrupt it after `budget_s` (SIGINT, then SIGKILL)."""
    load0 = os.getloadavg()
    c0, m0, t0 = children_cpu(), cpu_times(), time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    sampler = TreeSampler(proc.pid).start()
    interrupted = False
    try:
        out, err = proc.communicate(timeout=budget_s)
    except subprocess.TimeoutExpired:
        interrupted = True
        os.killpg(proc.pid, signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
    wall = time.perf_counter() - t0
    tree = sampler.stop()
    # the larger: the sampler misses a process's last tick, rusage misses what nobody waited for (proctree.py)
    cpu, m1 = max(children_cpu() - c0, tree.cpu_s), cpu_times()
    cores = os.cpu_count() or 1
    busy, steal = m1["busy"] - m0["busy"], m1["steal"] - m0["steal"]
    return {"rc": proc.returncode, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "interrupted": interrupted,
            "peak_rss": tree.peak_rss, "peak_pss": tree.peak_pss, "peak_processes": tree.peak_processes,
            "others_cpu_share": round(max(0.0, busy - cpu) / (cores * wall), 3) if wall else 0.0,
            "steal_share": round(steal / (cores * wall), 3) if wall else 0.0,
            "load_before": [round(x, 2) for x in load0], "load_after": [round(x, 2) for x in os.getloadavg()],
            "stdout": out, "stderr": err[-4000:]}


def ensure_corpus(data: Path, env: dict[str, str]) -> dict[str, Any]:
    manifest = data / "_truth" / "corpus.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("scale") == "official":
        return {"generated": False, "bytes": du(data)}
    shutil.rmtree(data, ignore_errors=True)
    run = measured([harness_bin(), "data", "synth", "--like", "all", "--scale", "official", "--out", str(data),
                    "--quiet", "--json"], env)
    if run["rc"] != 0:
        raise SystemExit(f"generating the official-size corpus failed:\n{run['stderr']}")
    info = json.loads(run["stdout"])
    return {"generated": True, "wall_s": run["wall_s"], "cpu_s": run["cpu_s"], "peak_rss": run["peak_rss"],
            "frames": info["frames"], "datasets": info["datasets"], "bytes": du(data)}


_STAGE = """
import json, sys, time
from pathlib import Path
from harness.protocols import get_protocol
from harness.protocols.task import build_task
from harness.runner.opaque import opaque_ids
from harness.runner.staging import frame_store, stage_table
t0 = time.perf_counter()
task = build_task(get_protocol(sys.argv[1]), Path(sys.argv[2]))
t1 = time.perf_counter()
stage_table(task.table, opaque_ids(task.table["uid"]))
t2 = time.perf_counter()
print(json.dumps({"load_s": round(t1 - t0, 2), "stage_s": round(t2 - t1, 2), "samples": len(task.table),
                  "folds": {p or "": len(task.folds(p)) for p in (list(task.protocol.phases) or [None])}}))
"""


def stage(protocol: str, data: Path, env: dict[str, str]) -> dict[str, Any]:
    """Stage the protocol's frames (timed: a first copy, or the check of copies already there)."""
    frames = Path(env["HARNESS_HOME"]) / "cache" / "frames"
    before = du(frames) if frames.exists() else 0
    run = measured([sys.executable, "-c", _STAGE, protocol, str(data)], env)
    if run["rc"] != 0:
        raise SystemExit(f"staging {protocol} failed:\n{run['stderr']}")
    info = json.loads(run["stdout"].strip().splitlines()[-1])
    return {**info, "wall_s": run["wall_s"], "copied_bytes": du(frames) - before}


def fold_stats(home: Path, protocol: str, phase: str | None, bundle: str, since: int) -> dict[str, Any]:
    """Stage split and per-fold figures of the newest submission of (protocol, phase, bundle) after id `since`."""
    from harness.preprocess.timing import merge
    from harness.store.db import open_store

    store = open_store(home / "results.sqlite")
    try:
        subs = [s for s in store.submissions(protocol, phase) if s.system == bundle and s.id > since]
        if not subs:
            return {}
        sub = subs[-1]
        runs = store.runs(sub.id)
        folds = store.fold_records(runs[0]["id"]) if runs else {}
        status = sub.status
    finally:
        store.close()
    fold_side = merge(*(f.get("timings") for f in folds.values()))
    sup_side = merge(*((f.get("isolation") or {}).get("cache", {}).get("timings") for f in folds.values()))

    def wall(report: dict, names) -> float:
        return round(sum(report.get(n, {}).get("wall_s", 0.0) for n in names), 1)

    walls = [float(f["wall_s"]) for f in folds.values()]
    n = max(1, len(folds))
    split = {"preprocessing": wall(sup_side, PRE_STAGES), "features": wall(fold_side, ["features"]),
             "training": wall(fold_side, ["fit"]), "prediction": wall(fold_side, ["predict"]),
             "waiting_for_supervisor": wall(fold_side, ["preprocess"])}
    return {"submission": sub.id, "status": status, "folds_done": len(folds), "fold_walls": walls,
            "split": split, "preprocessing_stages": {k: sup_side[k]["wall_s"] for k in PRE_STAGES if k in sup_side},
            "per_fold": {k: round(v / n, 2) for k, v in split.items()} | {"wall_s": round(sum(walls) / n, 2)}}


def extrapolate(elapsed: float, walls: list[float], total_folds: int, workers: int) -> float:
    """Elapsed + the folds left at the median wall of the steady folds (the first `workers` carry the cold
    preprocessing every later fold reuses), `workers` at a time."""
    steady = walls[workers:] or walls
    return elapsed + (total_folds - len(walls)) * median(steady) / workers if steady else float("nan")


def estimates(wall_s: float, cpu_s: float, walls: list[float], total_folds: int, workers: int) -> dict[str, float]:
    """An interrupted run's estimated wall and CPU totals ({} when too few steady folds to tell)."""
    if len(walls) < workers + MIN_STEADY_FOLDS or not wall_s:
        return {}
    wall_est = round(extrapolate(wall_s, walls, total_folds, workers), 1)
    return {"wall_est_s": wall_est, "cpu_est_s": round(cpu_s * wall_est / wall_s, 1)}


def submit_cell(protocol: str, phase: str | None, bundle: str, data: Path, home: Path, workers: int,
                budget_s: float | None, total_folds: int) -> dict[str, Any]:
    from harness.store.db import open_store

    store = open_store(home / "results.sqlite")
    since = max([s.id for s in store.submissions()] or [0])
    store.close()
    cmd = [harness_bin(), "submit", bundle, "-p", protocol, *(["--phase", phase] if phase else []),
           "--data-root", str(data), "--executor", "local", "--workers", str(workers), "--rerun", "--host",
           "--quiet", "--json"]
    run = measured(cmd, _env(home), budget_s)
    stats = fold_stats(home, protocol, phase, bundle, since)
    cell = {k: run[k] for k in ("rc", "wall_s", "cpu_s", "interrupted", "peak_rss", "peak_pss", "peak_processes",
                                "others_cpu_share", "steal_share", "load_before", "load_after")}
    cell.update(stats)
    cell["total_folds"] = total_folds
    if run["interrupted"] and stats.get("fold_walls"):
        cell.update(estimates(run["wall_s"], run["cpu_s"], stats["fold_walls"], total_folds, workers))
        subprocess.run([harness_bin(), "submissions", "abandon", str(stats["submission"])], env=_env(home),
                       capture_output=True)
    elif run["rc"] == 0:
        doc = json.loads(run["stdout"]) if run["stdout"].strip().startswith("{") else {}
        cell["uf1"] = ((doc.get("report") or {}).get("metrics") or {}).get("uf1", {}).get("value")
    else:
        cell["error"] = run["stderr"][-1500:]
    return cell


def totals(rows: list[dict]) -> dict[str, Any]:
    """One cell's cold and warm wall summed over its bundles: estimates where a run was interrupted, and a lower
    bound (`at_least`) when an interrupted run had too few folds for an estimate."""
    out: dict[str, Any] = {"cold_wall_s": 0.0, "warm_wall_s": 0.0, "extrapolated": False, "at_least": False}
    for row in rows:
        for key in ("cold", "warm"):
            run = row.get(key) or {}
            out[f"{key}_wall_s"] = round(out[f"{key}_wall_s"] + (run.get("wall_est_s", run.get("wall_s")) or 0.0), 1)
            out["extrapolated"] |= run.get("wall_est_s") is not None
            out["at_least"] |= bool(run.get("interrupted")) and run.get("wall_est_s") is None
    return out


def clear_preprocessing(home: Path) -> None:
    shutil.rmtree(home / "cache" / "preprocess", ignore_errors=True)


# --- tables ------------------------------------------------------------------------------------------------------
def _t(cell: dict, key: str = "wall_s") -> str:
    if not cell:
        return "-"
    estimate = cell.get({"wall_s": "wall_est_s", "cpu_s": "cpu_est_s"}.get(key, ""))
    if estimate is not None:  # an interrupted run: its total at the rate of the folds it ran
        return f"~{_dur(estimate)}"
    if cell.get("interrupted"):  # stopped before enough folds for an estimate: what it took so far, at least
        return f">{_dur(cell.get(key))}"
    if cell.get("rc") not in (0, None):
        return "failed"
    return _dur(cell.get(key))


def _dur(s: float | None) -> str:
    if s is None:
        return "-"
    s = float(s)
    return f"{s:.0f} s" if s < 100 else f"{int(s // 60)} min {int(s % 60):02d} s"


def _load(cell: dict) -> str:
    """The 1-minute load average before and after a run (2 cores: above 2, other jobs shared them)."""
    if not cell.get("load_before"):
        return "-"
    return f"{cell['load_before'][0]:.1f}-{cell['load_after'][0]:.1f}"


def _gib(b: int | None) -> str:
    return "-" if not b else f"{b / GIB:.2f}"


def markdown(doc: dict) -> str:
    c = doc["conditions"]
    lines = [f"Conditions: {c['date']}, commit {c['commit']}{' (uncommitted changes)' if c['dirty'] else ''}, "
             f"{c['cpus']} cores, `--executor local --workers {doc['workers']}`, quick profile, seed 0; "
             f"machine {doc['quiet']}.", ""]
    corpus = doc.get("corpus", {})
    if corpus.get("generated"):
        lines.append(f"Corpus: {corpus['frames']:,} frames, {corpus['bytes'] / GIB:.2f} GiB, generated in "
                     f"{_dur(corpus['wall_s'])} ({_dur(corpus['cpu_s'])} CPU, peak RSS {_gib(corpus['peak_rss'])} "
                     "GiB).")
    for cell, st in doc.get("staging", {}).items():
        lines.append(f"Staging {cell}: {st['samples']} samples, first copy {_dur(st['first']['stage_s'])} "
                     f"({st['first']['copied_bytes'] / GIB:.2f} GiB into `<cache>/frames`), check on every later run "
                     f"{_dur(st['again']['stage_s'])}; loading the annotations {_dur(st['first']['load_s'])}.")
    lines += ["", "| protocol | bundle | folds | cold wall | cold CPU | warm wall | warm CPU | peak RSS (GiB) | "
                  "peak PSS (GiB) | cold split: preprocessing / features / training / prediction | load avg cold / warm |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        cold, warm = r.get("cold", {}), r.get("warm", {})
        split = cold.get("split", {})
        split_txt = " / ".join(_dur(split.get(k)) for k in ("preprocessing", "features", "training", "prediction")) \
            if split else "-"
        peak_rss = max(cold.get("peak_rss", 0), warm.get("peak_rss", 0))
        peak_pss = max(cold.get("peak_pss", 0), warm.get("peak_pss", 0))
        folds = f"{cold.get('folds_done', '-')}/{cold.get('total_folds', '-')}"
        lines.append(f"| {r['cell']} | {r['bundle']} | {folds} | {_t(cold)} | {_t(cold, 'cpu_s')} | {_t(warm)} | "
                     f"{_t(warm, 'cpu_s')} | {_gib(peak_rss)} | {_gib(peak_pss)} | {split_txt} | "
                     f"{_load(cold)} / {_load(warm)} |")
    neural = [r for r in doc["rows"] if r["bundle"] in doc.get("neural", [])]
    if neural:
        lines += ["", "Neural bundles, per fold (means over the folds run; cold run):", "",
                  "| protocol | bundle | fold wall | training | prediction | features | preprocessing |",
                  "|---|---|---|---|---|---|---|"]
        for r in neural:
            pf = r.get("cold", {}).get("per_fold", {})
            lines.append(f"| {r['cell']} | {r['bundle']} | " + " | ".join(
                f"{pf.get(k, 0):.1f} s" for k in ("wall_s", "training", "prediction", "features", "preprocessing"))
                + " |")
    totals = doc.get("totals", {})
    for cell, t in totals.items():
        warm = f"; warm: {_dur(t['warm_wall_s'])}" if t["warm_wall_s"] else ""
        bound = "at least " if t.get("at_least") else ""
        lines.append(f"\nTotal {cell}, the bundles above, cold: {bound}{_dur(t['cold_wall_s'])} wall"
                     f"{' (some cells extrapolated)' if t['extrapolated'] else ''}{warm}.")
    if doc.get("main"):
        m = doc["main"]
        lines.append(f"\nMain job (`harness run-all`, default corpus): {_dur(m['wall_s'])} wall, {_dur(m['cpu_s'])} "
                     f"CPU, peak RSS {_gib(m['peak_rss'])} GiB, peak PSS {_gib(m['peak_pss'])} GiB "
                     f"({m['peak_processes']} processes at most), load average {_load(m)}.")
    lines.append("\n`~`: extrapolated from the folds run within the budget (see tests/bench/scale.py). Preprocessing: "
                 "the stage clocks of the fold supervisors and their read-ahead helpers; features, training, "
                 "prediction: each fold's own clock, "
                 "exclusive of what it waited for; summed over the folds, so with 2 workers they exceed the wall time. "
                 "Load average: 1-minute, before-after each run. Peak RSS counts shared pages in every process (an upper "
                 "bound); PSS splits them.")
    return "\n".join(lines)


def quiet_word(rows: list[dict]) -> str:
    shares = [c.get("others_cpu_share", 0) for r in rows for c in (r.get("cold", {}), r.get("warm", {})) if c]
    steal = [c.get("steal_share", 0) for r in rows for c in (r.get("cold", {}), r.get("warm", {})) if c]
    if not shares:
        return "unknown"
    worst = max(shares)
    word = "quiet" if worst < 0.1 else "shared"
    return (f"{word} (other jobs took {100 * median(shares):.0f} % of the CPUs on median, {100 * worst:.0f} % at "
            f"most; steal {100 * max(steal):.0f} % at most)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=None, help="folder for the corpus and the harness home "
                    "(default $HARNESS_HOME/scale)")
    ap.add_argument("--data-root", type=Path, default=None, help="use this corpus instead of generating one")
    ap.add_argument("--bundles", default=None, help="a,b,... (default: every shipped bundle)")
    ap.add_argument("--protocols", default=None, help="protocol[:phase],... (default: every protocol and phase)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--budget-s", type=float, default=None, help="interrupt a cold run after this long, extrapolate")
    ap.add_argument("--warm-budget-s", type=float, default=None, help="the same for warm runs")
    ap.add_argument("--no-warm", action="store_true")
    ap.add_argument("--main", action="store_true", help="also measure the main job (harness run-all, default corpus)")
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "bench" / "results" / "scale-official")
    args = ap.parse_args(argv)
    deliverable_interrupts()

    from harness.paths import harness_home
    from harness.bundles.discover import resolve_bundle
    from harness.bundles.manifest import load_bundle

    work = args.work or harness_home() / "scale"
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    data = args.data_root or work / "data"
    doc: dict[str, Any] = {"conditions": conditions(), "workers": args.workers, "rows": [], "staging": {},
                           "totals": {}, "budget_s": args.budget_s, "warm_budget_s": args.warm_budget_s}
    doc["corpus"] = ensure_corpus(data, _env(home)) if args.data_root is None else {"generated": False,
                                                                                     "bytes": du(data)}
    bundles = [b for b in args.bundles.split(",") if b] if args.bundles else shipped_bundles()
    doc["neural"] = [b for b in bundles if load_bundle(resolve_bundle(b)).neural]
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        doc["quiet"] = quiet_word(doc["rows"])
        args.out.with_suffix(".json").write_text(json.dumps(doc, indent=1))
        args.out.with_suffix(".md").write_text(markdown(doc) + "\n")

    for spec in [c for c in args.protocols.split(",") if c] if args.protocols else all_cells():
        protocol, _, phase = spec.partition(":")
        phase = phase or None
        first = stage(protocol, data, _env(home))
        again = stage(protocol, data, _env(home))
        doc["staging"][protocol] = doc["staging"].get(protocol) or {"samples": first["samples"], "first": first,
                                                                      "again": again}
        total_folds = first["folds"][phase or ""]
        for bundle in bundles:
            print(f"[scale] {spec} {bundle} cold ...", file=sys.stderr, flush=True)
            clear_preprocessing(home)
            row = {"cell": spec, "bundle": bundle,
                   "cold": submit_cell(protocol, phase, bundle, data, home, args.workers, args.budget_s,
                                       total_folds)}
            if not args.no_warm:
                print(f"[scale] {spec} {bundle} warm ...", file=sys.stderr, flush=True)
                row["warm"] = submit_cell(protocol, phase, bundle, data, home, args.workers, args.warm_budget_s,
                                          total_folds)
            doc["rows"].append(row)
            doc["totals"][spec] = totals([r for r in doc["rows"] if r["cell"] == spec])
            save()
    if args.main:
        main_home = work / "main-home"
        shutil.rmtree(main_home, ignore_errors=True)
        run = measured([harness_bin(), "run-all", "--quiet"], _env(main_home))
        doc["main"] = {k: run[k] for k in ("rc", "wall_s", "cpu_s", "peak_rss", "peak_pss", "peak_processes",
                                           "others_cpu_share", "steal_share", "load_before", "load_after")}
    save()
    print(markdown(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
