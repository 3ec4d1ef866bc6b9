"""`harness check`: CI regression checks of bundles against committed expectations.

An expectations file lists, per bundle x protocol (x phase), bounds a metric must still satisfy on a given data
root (default: the embedded synthetic corpus) under a profile, with a tolerance. Each check is one named rule
(MLCommons-checker style); all run, the table shows every result, and any failure makes the whole check fail.
Results of identical code + data + settings are reused from the store instead of being recomputed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness.errors import BadInput, HarnessError


@dataclass
class Expectation:
    bundle: str
    protocol: str
    phase: str | None
    bounds: dict[str, dict[str, float]]   # metric -> {"min": x, "max": y}
    tolerance: float


@dataclass
class Expectations:
    path: Path
    profile: str | None
    seeds: list[int]
    data_root: str | None
    checks: list[Expectation] = field(default_factory=list)


@dataclass
class CheckResult:
    expectation: Expectation
    metrics: dict[str, float] | None
    failures: list[str]
    error: str | None = None
    reused: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures and self.error is None


TOP = ("version", "profile", "seeds", "data_root", "tolerance", "checks")
CHECK = ("bundle", "protocol", "phase", "expect", "tolerance")


def _seeds_check(seeds: list) -> str | None:
    ok = seeds and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
    return None if ok else f"must be a non-empty list of seeds (integers >= 0), not {seeds!r}"


def _tolerance_check(t: float) -> str | None:
    return None if t >= 0 else f"must be a number >= 0, not {t!r}"


def load_expectations(path: Path) -> Expectations:
    """Read and validate an expectations file; every problem names the file and the key (harness.schema)."""
    from harness.schema import Fields, read_yaml

    path = Path(path)
    f = Fields(path, read_yaml(path, "expectations file", hint="see the header of expectations.yaml"),
               "expectations file")
    f.refuse_unknown(TOP)
    default_tol = float(f.get("tolerance", (int, float), default=0.0, check=_tolerance_check))
    seeds = f.get("seeds", list, default=[0], check=_seeds_check)
    profile = f.get("profile", default=None)
    data_root = f.get("data_root", default=None)
    f.get("checks", list, hint="a list of {bundle, protocol, phase, expect: {metric: {min, max}}}")
    checks = []
    for c in f.items("checks"):
        c.refuse_unknown(CHECK)
        bundle, protocol = c.get("bundle"), c.get("protocol")
        phase = c.get("phase", default=None)
        tolerance = float(c.get("tolerance", (int, float), default=default_tol, check=_tolerance_check))
        computed = _protocol_metrics(protocol)
        bounds: dict[str, dict[str, float]] = {}
        expect = c.sub("expect", required=True, hint="map each metric to {min: x, max: y}")
        for m in expect.data:
            if computed is not None and m not in computed:
                expect.add(m, f"is not a metric protocol {protocol} computes ({', '.join(computed)})")
                continue
            b = expect.sub(m, required=True)
            b.refuse_unknown(("min", "max"))
            got = {k: b.get(k, (int, float), default=None) for k in ("min", "max")}
            bounds[m] = {k: float(v) for k, v in got.items() if v is not None}
            if expect.data[m] == {}:
                expect.add(m, "give min and/or max", hint="e.g. uf1: {min: 0.30, max: 0.40}")
        if bundle is not None and protocol is not None:
            checks.append(Expectation(str(bundle), str(protocol), phase, bounds, tolerance))
    f.done()
    return Expectations(path, profile, list(seeds), data_root, checks)


def _protocol_metrics(protocol) -> tuple[str, ...] | None:
    """The metrics a protocol computes; None for a name that is not a protocol (reported when the check runs)."""
    from harness.protocols import get_protocol
    from harness.registry import UnknownName

    try:
        return get_protocol(str(protocol)).metrics
    except UnknownName:
        return None


def evaluate(exp: Expectation, metrics: dict[str, float]) -> list[str]:
    failures = []
    for m, b in exp.bounds.items():
        got = metrics[m]
        if "min" in b and got < b["min"] - exp.tolerance:
            failures.append(f"{m} {got:.4f} < min {b['min']:.4f} (tolerance {exp.tolerance})")
        if "max" in b and got > b["max"] + exp.tolerance:
            failures.append(f"{m} {got:.4f} > max {b['max']:.4f} (tolerance {exp.tolerance})")
    return failures


def run_checks(spec: Expectations, data_root: str | None = None, only: tuple[str, ...] = (),
               executor: str = "serial", workers: int | None = None, quiet: bool = True,
               on_result: Callable[[int, int, CheckResult], None] | None = None) -> list[CheckResult]:
    """Run (or reuse) every selected check; `on_result(i, n, result)` hears of each as it ends (CI logs)."""
    selected = [exp for exp in spec.checks if not only or exp.bundle in only]
    results = []
    for i, exp in enumerate(selected, 1):
        results.append(_run_one(exp, spec, data_root, executor, workers, quiet))
        if on_result is not None:
            on_result(i, len(selected), results[-1])
    return results


def _run_one(exp: Expectation, spec: Expectations, data_root: str | None, executor: str, workers: int | None,
             quiet: bool) -> CheckResult:
    from harness.evaluate.request import RunRequest
    from harness.evaluate.submit import submit

    try:
        out = submit(RunRequest(exp.protocol, exp.phase, bundle=exp.bundle, seeds=tuple(spec.seeds),
                                profile=spec.profile, data_root=data_root or spec.data_root, executor=executor,
                                workers=workers, quiet=quiet, host=True, device="cpu"))
    except BadInput:
        raise  # a wrong expectations entry or data root is bad input (exit 2), not a regression
    except HarnessError as exc:
        return CheckResult(exp, None, [], error=str(exc).splitlines()[0])
    metrics = {m: v["value"] for m, v in out.report["metrics"].items()}
    return CheckResult(exp, metrics, evaluate(exp, metrics), reused=out.status == "reused")


def render_results(results: list[CheckResult]) -> str:
    from tabulate import tabulate

    rows = []
    for r in results:
        e = r.expectation
        where = e.protocol + (f" {e.phase}" if e.phase else "")
        expected = "; ".join(_bounds_text(m, b) for m, b in e.bounds.items())
        got = "error" if r.metrics is None else " ".join(f"{m} {r.metrics[m]:.3f}" for m in e.bounds)
        rows.append([e.bundle, where, expected, got, f"±{e.tolerance}", status_text(r)])
    return tabulate(rows, headers=["bundle", "protocol", "expected", "got", "tol", "status"], disable_numparse=True)


def _bounds_text(metric: str, bounds: dict[str, float]) -> str:
    if bounds.get("min") is not None and bounds.get("min") == bounds.get("max"):
        return f"{metric} {bounds['min']:.3f}"
    return f"{metric} " + " ".join(f"{k} {v:.3f}" for k, v in bounds.items())


def status_text(r: CheckResult) -> str:
    status = "ok" if r.ok else "REGRESSED: " + (r.error or "; ".join(r.failures))
    return status + (" (reused)" if r.reused else "")
