"""`harness check`: CI regression checks of bundles against committed expectations.

An expectations file lists, per bundle x protocol (x phase), bounds a metric must still satisfy on a given data
root (default: the embedded synthetic corpus) under a profile, with a tolerance. Each check is one named rule
(MLCommons-checker style); all run, the table shows every result, and any failure makes the whole check fail.
Results of identical code + data + settings are reused from the store instead of being recomputed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness.errors import BadInput, HarnessError, Problem, ValidationFailed


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


def load_expectations(path: Path) -> Expectations:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise BadInput(f"expectations file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BadInput(f"{path}: not valid YAML ({exc})")
    where = str(path)
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        raise BadInput(f"{path}: expected a mapping with a 'checks' list (see the header of expectations.yaml)")
    problems = []
    default_tol = float(data.get("tolerance", 0.0))
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not all(isinstance(s, int) for s in seeds):
        problems.append(Problem(where, "seeds must be a list of integers", column="seeds"))
    checks = []
    for i, c in enumerate(data["checks"]):
        col = f"checks[{i}]"
        if not isinstance(c, dict):
            problems.append(Problem(where, "each check must be a mapping", column=col))
            continue
        for need in ("bundle", "protocol", "expect"):
            if need not in c:
                problems.append(Problem(where, f"missing field {need!r}", column=col))
        bounds = c.get("expect") or {}
        if not isinstance(bounds, dict):
            problems.append(Problem(where, "expect must map metrics to {min: x, max: y}", column=f"{col}.expect"))
            continue
        computed = _protocol_metrics(c.get("protocol"))
        for m, b in bounds.items():
            if computed is not None and m not in computed:
                problems.append(Problem(where, f"metric {m!r} is not one that protocol {c.get('protocol')} computes "
                                               f"({', '.join(computed)})", column=f"{col}.expect"))
            elif not isinstance(b, dict) or not set(b) <= {"min", "max"} or not b:
                problems.append(Problem(where, f"{m}: give min and/or max", column=f"{col}.expect.{m}"))
        if "bundle" in c and "protocol" in c:
            checks.append(Expectation(str(c["bundle"]), str(c["protocol"]), c.get("phase"),
                                      {m: {k: float(v) for k, v in b.items()} for m, b in bounds.items()
                                       if isinstance(b, dict)}, float(c.get("tolerance", default_tol))))
    if problems:
        raise ValidationFailed(problems, f"expectations file {path} is invalid")
    return Expectations(path, data.get("profile"), list(seeds), data.get("data_root"), checks)


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
