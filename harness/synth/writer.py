"""Write a synthetic corpus: plan, render subjects in parallel, then annotation files, truth index, manifests.

Each dataset is written into a hidden temporary folder and moved into place only when complete, so an
interrupted run never leaves a half-written dataset that `harness data check` would take for a real one.
Bytes do not depend on the worker count (threads): every clip's randomness is derived from (seed, names), and the
annotation files and manifests are written by the parent in a fixed order.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import BadInput
from harness.synth import GENERATOR_VERSION
from harness.synth.config import SynthConfig
from harness.synth.defects import planted_summary, write_errata
from harness.synth.plan import DatasetPlan, plan_dataset
from harness.synth.specs import get_spec, resolve_like
from harness.synth.truth import INDEX, TRUTH_DIR, clip_path, dump_json

MANIFEST = "manifest.json"
CORPUS = "corpus.json"


@dataclass
class Summary:
    root: Path
    datasets: dict[str, dict] = field(default_factory=dict)
    frames: int = 0
    seconds: float = 0.0


def _environment() -> dict[str, str]:
    import cv2
    import numpy

    return {"numpy": numpy.__version__, "opencv": cv2.__version__}


def manifest(plan: DatasetPlan, scale: str = "default") -> dict:
    """What was generated, from what (seed, config, generator version); no timestamps (byte-determinism)."""
    splits: dict[str, dict] = {}
    samples = noisy = 0
    clips = 0
    fps: dict[str, int] = {}
    for s in plan.subjects:
        for c in s.clips:
            clips += 1
            part = splits.setdefault(c.split, {"subjects": set(), "samples": 0, "labels": {}})
            part["subjects"].add(s.subject)
            for e in c.events:
                samples += 1
                noisy += e.label_noise
                part["samples"] += 1
                part["labels"][e.label] = part["labels"].get(e.label, 0) + 1
                fps[f"{c.fps:g}"] = fps.get(f"{c.fps:g}", 0) + 1
    for part in splits.values():
        part["subjects"] = len(part["subjects"])
        part["labels"] = dict(sorted(part["labels"].items()))
    return {
        "generator": GENERATOR_VERSION, "dataset": plan.key, "seed": plan.seed, "config": plan.config.as_dict(),
        **({"scale": scale} if scale != "default" else {}),  # the default corpus's bytes predate scales
        "subjects": len(plan.subjects), "samples": samples, "clips": clips, "frames": plan.n_frames,
        "label_noise_samples": noisy, "fps_samples": dict(sorted(fps.items())), "splits": splits,
        "defects": planted_summary(plan), "environment": _environment(),
    }


def write_corpus_manifest(root: Path) -> None:
    """`ROOT/_truth/corpus.json`: every dataset's manifest; seed and config at the top when all agree."""
    import json

    tdir = root / TRUTH_DIR
    found = {}
    for d in sorted(p for p in tdir.iterdir() if p.is_dir() and (p / MANIFEST).is_file()):
        found[d.name] = json.loads((d / MANIFEST).read_text())
    seeds = {m["seed"] for m in found.values()}
    configs = {json.dumps(m["config"], sort_keys=True) for m in found.values()}
    scales = {m.get("scale", "default") for m in found.values()}
    scale = scales.pop() if len(scales) == 1 else None
    dump_json(tdir / CORPUS, {
        "generator": GENERATOR_VERSION,
        "seed": seeds.pop() if len(seeds) == 1 else None,
        "config": json.loads(configs.pop()) if len(configs) == 1 else None,
        **({"scale": scale} if scale != "default" else {}),
        "datasets": found,
    })


def _run_jobs(jobs: list, workers: int, progress: bool, total: int) -> None:
    from tqdm import tqdm

    from harness.synth.render import render_subject

    # disable=None: tqdm shows the bar only on a terminal, so logs and CI output stay clean.
    bar = tqdm(total=total, unit="frame", desc="synth", file=sys.stderr, smoothing=0.1,
               disable=None if progress else True)
    try:
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                bar.set_postfix_str(f"{job.plan.dataset}/{job.plan.subject}", refresh=False)
                bar.update(render_subject(job)[2])
            return
        # Threads, not processes: OpenCV (remap, JPEG encoding, its thread-local RNG) and numpy release the GIL
        # for the heavy work, and forking a parent that already runs native threads (torch, mediapipe) can
        # deadlock. Each subject is rendered whole by one thread, so its bytes do not depend on scheduling.
        from concurrent.futures import ThreadPoolExecutor, as_completed

        import cv2

        cv_threads = cv2.getNumThreads()
        cv2.setNumThreads(1)  # one OpenCV thread per worker thread; restored for whoever runs after us
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="synth") as pool:
                futures = [pool.submit(render_subject, j) for j in jobs]
                for f in as_completed(futures):
                    key, subject, n = f.result()
                    bar.set_postfix_str(f"{key}/{subject}", refresh=False)
                    bar.update(n)
        finally:
            cv2.setNumThreads(cv_threads)
    finally:
        bar.close()


def generate(out: Path, like: str | list[str], seed: int = 0, config: SynthConfig | None = None,
             subjects: int | None = None, workers: int | None = None, force: bool = False,
             progress: bool = True, scale: str = "default", frames: bool = True) -> Summary:
    """Write `ROOT/<key>/` (release layout) and `ROOT/_truth/<key>/` for each dataset in `like`, at `scale`
    (specs.SCALES: `official` is every release at its own size, which `subjects` and `samples_per_subject`
    cannot change). frames=False writes the annotation files, errata and truth index but draws no frame (and
    no per-clip truth): enough for protocol counts in seconds (`build_task(..., check_frames=False)`); SMIC,
    whose folders are its annotation, then has none."""
    from harness.datasets.release import write_release
    from harness.synth.render import RenderJob
    from harness.synth.specs import get_scale

    start = time.perf_counter()
    config = config or SynthConfig()
    keys = resolve_like(like) if isinstance(like, str) else [k for k in like if get_spec(k)]
    if get_scale(scale).exact and (subjects is not None or config.samples_per_subject is not None):
        raise BadInput(f"--scale {scale} sets every dataset's subjects and samples to the release's; drop "
                       "--subjects and samples_per_subject (or use --scale default)")
    if subjects is not None and subjects < 1:
        raise BadInput(f"--subjects must be at least 1 (got {subjects})")
    out = Path(out).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out} is a file; give a folder")
    for key in keys:
        for target in (out / key, out / TRUTH_DIR / key):
            if target.exists() and any(target.iterdir()) and not force:
                raise BadInput(f"{target} already exists; pass --force to replace it, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)

    plans = {k: plan_dataset(get_spec(k), config, seed, subjects, scale) for k in keys}
    tmp = {k: out / f".synth-{k}.tmp" for k in keys}
    jobs = []
    for k, plan in plans.items():
        if tmp[k].exists():
            shutil.rmtree(tmp[k])
        (tmp[k] / "release").mkdir(parents=True)
        (tmp[k] / "truth").mkdir(parents=True)
        for s in plan.subjects:
            jobs.append(RenderJob(s, config.size, config.noise, config.jpeg_quality, config.texture,
                                  str(tmp[k] / "release"), str(tmp[k] / "truth"), GENERATOR_VERSION))
    jobs.sort(key=lambda j: (-j.plan.n_frames, j.plan.dataset, j.plan.subject))  # big first: balanced workers
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    total = sum(p.n_frames for p in plans.values())
    try:
        if frames:
            _run_jobs(jobs, workers, progress, total)
    except BaseException:  # interrupted or failed: leave nothing half-written behind
        for t in tmp.values():
            shutil.rmtree(t, ignore_errors=True)
        raise

    summary = Summary(out)
    for k, plan in plans.items():
        release, truth = tmp[k] / "release", tmp[k] / "truth"

        def no_frames(record, index):  # frames are already written by the renderer
            raise AssertionError("frames are rendered by harness.synth.render")

        write_release(release, k, plan.records(), no_frames, config.jpeg_quality, write_frames=False)
        write_errata(plan, truth, GENERATOR_VERSION)
        index = {e.sample_id: [clip_path(c.subject, c.clip), i]
                 for s in plan.subjects for c in s.clips for i, e in enumerate(c.events)}
        dump_json(truth / INDEX, index)
        info = manifest(plan, scale)
        dump_json(truth / MANIFEST, info)
        for src, dst in ((release, out / k), (truth, out / TRUTH_DIR / k)):
            if dst.exists():
                shutil.rmtree(dst)
            dst.parent.mkdir(parents=True, exist_ok=True)
            src.rename(dst)
        shutil.rmtree(tmp[k])
        summary.datasets[k] = info
        summary.frames += info["frames"]
    write_corpus_manifest(out)
    summary.seconds = time.perf_counter() - start
    return summary
