"""One typed request for the two ways a score is born: a bundle run under a protocol (`harness submit`) or a
predictions file scored against it (`harness score`). The CLI, the expectations check, the ablations and the
main job build a `RunRequest`; `prepare_bundle` / `prepare_file` validate every field of it before anything is
recorded (BadInput, exit 2, for the first problem: a mistake never takes a phase slot).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from harness.errors import BadInput
from harness.runner.plan import identity as run_identity

#: Seconds a fold may run when its protocol file sets no `fold_time_limit_s` (then it is killed, the run fails).
DEFAULT_FOLD_TIME_LIMIT_S = 6 * 3600.0
KINDS = ("system", "baseline", "sanity")   # what a scored predictions file may call itself


@dataclass(frozen=True)
class RunRequest:
    """An evaluation as asked for. Exactly one of `bundle` and `predictions` says what is scored."""

    protocol: str
    phase: str | None = None
    bundle: str | Path | None = None          # a bundle folder, or a shipped bundle's name
    predictions: str | Path | None = None     # a predictions.csv
    team: str | None = None                   # default for a bundle: its manifest's team
    system: str | None = None                 # a predictions file's system name (a bundle's is its name)
    kind: str = "system"                      # a predictions file's kind (a bundle's is its manifest's)
    data_root: str | Path | None = None
    data_options: Any = None                  # harness.datasets.policy.LoadOptions (None: the default)
    host: bool = False                        # organiser's reference run: exempt from phase limits (recorded)
    record: bool = True                       # a predictions file is recorded only when asked (--record)
    store_path: str | Path | None = None
    quiet: bool = True
    # a bundle run only
    seeds: Sequence[int] = (0,)
    profile: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    device: str = "auto"
    executor: str = "serial"
    workers: int | None = None
    executor_options: Mapping[str, Any] = field(default_factory=dict)
    fold_batched: bool = False
    trust_bundle: bool = False
    sandbox: bool = True
    fold_time_limit_s: float | None = None
    resume: bool = False
    rerun: bool = False
    predict_only: bool = False                # run the folds for their predictions: nothing scored or recorded
    # a predictions file only
    draws: int | None = None                  # bootstrap draws of the CIs (default harness.scoring.bootstrap's)


@dataclass
class Prepared:
    """What both kinds of request resolve to before anything is recorded: the protocol, the phase, the data."""

    request: RunRequest
    proto: Any                 # harness.protocols.model.Protocol
    phase: str | None
    root: Path
    task: Any                  # harness.protocols.task.Task
    fingerprint: str
    team: str


@dataclass
class PreparedRun(Prepared):
    """A validated bundle run."""

    bundle: Any = None         # harness.bundles.manifest.Bundle
    seeds: list[int] = field(default_factory=list)
    profile: str = ""
    config: dict = field(default_factory=dict)
    device: str = "cpu"
    executor: Any = None
    trust: str | None = None   # how a fold-batched bundle was trusted: "reviewed" or "--trust-bundle"
    time_limit_s: float = DEFAULT_FOLD_TIME_LIMIT_S
    identity: str = ""


@dataclass
class PreparedFile(Prepared):
    """A validated predictions file (parsed against the phase's test ids)."""

    preds: Any = None          # harness.scoring.predictions.Predictions
    system: str | None = None


def _prepare(req: RunRequest, check_frames: bool) -> tuple:
    """The protocol, phase, data root and task of a request, with reference labels for the phase (unless the
    request only predicts: a participant's test phase has none)."""
    from harness.paths import resolve_data_root
    from harness.protocols import get_protocol
    from harness.protocols.task import build_task

    proto = get_protocol(req.protocol)
    phase = proto.check_phase(req.phase)
    root = resolve_data_root(req.data_root)
    task = build_task(proto, root, check_frames=check_frames, options=req.data_options)
    if not req.predict_only and not task.has_labels(phase):
        raise BadInput(f"the data root has no reference labels for {proto.name} {phase or ''}: "
                       f"{int(task.test_table(phase)['label'].isna().sum())} test samples are unlabelled")
    return proto, phase, root, task


def resolve_device(requested: str, neural: bool) -> str:
    if requested not in ("auto", "cpu", "cuda"):
        raise BadInput(f"--device must be auto, cpu or cuda, not {requested!r}")
    if requested == "cpu" or (requested == "auto" and not neural):
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        raise BadInput("--device cuda was asked for but torch sees no CUDA device")
    return "cpu"


def executor_options_for(executor: str, device: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Options for the executor: on CUDA, each Ray task asks for one GPU unless the caller said otherwise
    (Ray then gives the task its own CUDA_VISIBLE_DEVICES; a task that asks for none sees no GPU)."""
    options = dict(options or {})
    flags = {"address": "--ray-address", "gpus_per_fold": "--gpus-per-fold"}
    misplaced = [flags[k] for k in flags if k in options and executor != "ray"]
    if misplaced:
        raise BadInput(f"{', '.join(misplaced)} applies to --executor ray only (this run uses {executor})")
    gpus = options.get("gpus_per_fold")
    if gpus is not None and (isinstance(gpus, bool) or not isinstance(gpus, (int, float)) or not 0 <= gpus <= 64):
        raise BadInput(f"--gpus-per-fold must be a number in [0, 64], not {gpus!r}")
    if executor == "ray" and device == "cuda":
        options.setdefault("gpus_per_fold", 1.0)
    return options


def check_seeds(seeds: Sequence[Any]) -> list[int]:
    out = set()
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2 ** 32:
            raise BadInput(f"seeds must be integers in [0, 2^32), not {s!r}")
        out.add(int(s))
    if not out:
        raise BadInput("--seeds must name at least one seed")
    return sorted(out)


def prepare_bundle(req: RunRequest) -> PreparedRun:
    """Validate every input of a bundle run (BadInput, exit 2, for the first problem); records nothing."""
    from harness.bundles.discover import resolve_bundle
    from harness.bundles.manifest import load_bundle
    from harness.evaluate.provenance import harness_code_hash
    from harness.names import check_name
    from harness.runner.executors import EXECUTORS, make_executor

    if req.bundle is None or req.predictions is not None:
        raise BadInput("a bundle run needs a bundle and no predictions file")
    if req.predict_only and (req.resume or req.rerun or req.host or len(req.seeds) != 1):
        raise BadInput("--predict-only runs one seed once and records nothing: it takes no --resume, --rerun, "
                       "--host or several --seeds")
    bundle = load_bundle(resolve_bundle(str(req.bundle)))
    from harness.protocols import get_protocol

    proto = get_protocol(req.protocol)
    proto.check_phase(req.phase)
    seeds = check_seeds(req.seeds)
    team = check_name(req.team or bundle.team, "team name")
    profile, config = bundle.resolve_config(req.profile, dict(req.overrides))
    if req.overrides and not all(isinstance(k, str) and k for k in req.overrides):
        raise BadInput("--set keys must be non-empty names")
    device = resolve_device(req.device, bundle.neural)
    EXECUTORS.get(req.executor)  # "did you mean" for a typo, before anything else happens
    workers = req.workers
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise BadInput(f"--workers must be a positive integer, not {workers!r}")
    options = executor_options_for(req.executor, device, req.executor_options)
    limit = req.fold_time_limit_s
    if limit is not None and (isinstance(limit, bool) or limit <= 0):
        raise BadInput(f"--fold-time-limit must be a positive number of seconds, not {limit!r}")
    phase = proto.check_phase(req.phase)
    time_limit = float(limit or proto.fold_time_limit(phase) or DEFAULT_FOLD_TIME_LIMIT_S)
    trust = _batched_trust(bundle, proto, req.trust_bundle) if req.fold_batched else None
    from harness.evaluate.fingerprint import data_fingerprint

    proto, phase, root, task = _prepare(req, check_frames=True)
    fingerprint = data_fingerprint(task)
    executor = make_executor(req.executor, workers, **options)
    ident = run_identity(protocol=proto.name, version=proto.version, phase=phase, team=team, system=bundle.name,
                         kind=bundle.kind, bundle=bundle.code_hash, profile=profile, config=config, seeds=seeds,
                         data=fingerprint, harness=harness_code_hash(), device=device,
                         **({"fold_batched": True} if req.fold_batched else {}),
                         **({} if req.sandbox else {"sandbox": False}))
    return PreparedRun(req, proto, phase, root, task, fingerprint, team, bundle=bundle, seeds=seeds,
                       profile=profile, config=config, device=device, executor=executor, trust=trust,
                       time_limit_s=time_limit, identity=ident)


def _batched_trust(bundle, proto, trust_bundle: bool) -> str:
    from harness.bundles.reviewed import REVIEWED, reviewed

    if not proto.splitter.fold_batched or not bundle.neural:
        raise BadInput("--fold-batched trains all LOSO folds of a neural bundle at once: it needs a LOSO protocol "
                       "and a bundle with `neural: true` that provides batched_spec()")
    if reviewed(bundle.name, bundle.code_hash):
        return "reviewed"
    if trust_bundle:
        return "--trust-bundle"
    raise BadInput(f"--fold-batched gives one process every fold's labels, so it is for reviewed bundles only: "
                   f"{bundle.name} (code hash {bundle.code_hash}) is not in {REVIEWED}. Review it and add it "
                   "there, or pass --trust-bundle to run it anyway (recorded with the run and on the board)")


def prepare_file(req: RunRequest) -> PreparedFile:
    """Validate a predictions file against the phase's test ids (every problem with row and column); records
    nothing. The team and system are checked when the file is to be recorded."""
    from harness.scoring.predictions import read_predictions

    if req.predictions is None or req.bundle is not None:
        raise BadInput("scoring a file needs a predictions file and no bundle")
    if req.record and not (req.team and req.system):
        raise BadInput("--record needs --team and --system")
    if req.kind not in KINDS:
        raise BadInput(f"--kind must be one of {', '.join(KINDS)}, not {req.kind!r}")
    team = None
    if req.record:
        from harness.names import check_name

        team = check_name(req.team, "team name")
        check_name(req.system, "system name")
    proto, phase, root, task = _prepare(req, check_frames=False)
    test = task.test_table(phase)
    preds = read_predictions(req.predictions, test["uid"].tolist(), proto.classes)
    fingerprint = ""
    if req.record:
        from harness.evaluate.fingerprint import data_fingerprint

        fingerprint = data_fingerprint(task)
    return PreparedFile(req, proto, phase, root, task, fingerprint, team, preds=preds, system=req.system)
