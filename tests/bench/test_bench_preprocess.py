"""Benchmarks of the shared preprocessing: flow backends side by side (speed and accuracy), cache miss vs hit.

Run: `make bench`, or
    pytest -m bench --benchmark-enable -p no:xdist -s tests/bench/test_bench_preprocess.py
(-s shows the EPE and ratio lines). In the default test run (benchmarks disabled) each case runs once, as a
smoke test. Numbers are noisy on shared VMs (shared/reference/environment.md §0): read min and median.
"""
from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from harness.preprocess import FaceConfig, FlowConfig, Preprocessor
from harness.preprocess.flow import compute_flow, endpoint_error
from harness.preprocess.testing import (expression_field, face_image, make_clip, rigid_field, similarity_matrix,
                                        smooth_field, textured_image, warp_forward)

pytestmark = pytest.mark.bench

SIZE = 128
FLOWS = {
    "dis-ultrafast": FlowConfig("dis", params={"preset": "ultrafast"}),
    "dis-fast": FlowConfig("dis", params={"preset": "fast"}),
    "dis (default: medium)": FlowConfig("dis"),
    "dis-medium finest_scale 0": FlowConfig("dis", params={"finest_scale": 0}),
    "farneback": FlowConfig("farneback"),
    "tvl1 3 scales 3 warps": FlowConfig("tvl1", params={"nscales": 3, "warps": 3, "epsilon": 0.05}),
    "tvl1 (OpenCV defaults)": FlowConfig("tvl1"),
}


@pytest.fixture(scope="module")
def pairs():
    """Three 128 px pairs with known flow: texture (smooth field, 1.5 px), face (expression + small head motion),
    and the face with sensor-like noise (sigma 2 gray levels)."""
    import cv2
    from harness.preprocess.landmarks import detect

    tex = textured_image(SIZE, 7)
    tex_truth = smooth_field(SIZE, 8, 1.5)
    face_rgb = face_image(SIZE)
    face = cv2.cvtColor(face_rgb, cv2.COLOR_RGB2GRAY)
    face_truth = expression_field(detect(face_rgb), (SIZE, SIZE), 1.5) + rigid_field(
        similarity_matrix(0.3, 1.0, 0.4, -0.3, (64, 64)), (SIZE, SIZE))
    face2 = warp_forward(face, face_truth)
    rng = np.random.default_rng(0)
    noisy = [np.clip(x + rng.normal(0, 2, x.shape), 0, 255).astype(np.uint8) for x in (face, face2)]
    return {"texture": (tex, warp_forward(tex, tex_truth), tex_truth),
            "face": (face, face2, face_truth),
            "face+noise": (noisy[0], noisy[1], face_truth)}


@pytest.mark.parametrize("name", list(FLOWS))
def test_bench_flow_backends(benchmark, pairs, name):
    cfg = FLOWS[name]
    params = cfg.resolved()
    a, b, _ = pairs["face"]
    benchmark.group = "flow, one 128 px pair"
    benchmark.extra_info["backend"] = cfg.canonical()
    flow = benchmark(compute_flow, a, b, cfg.backend, params)
    assert flow.shape == (SIZE, SIZE, 2)
    inner = np.zeros((SIZE, SIZE), bool)
    inner[10:-10, 10:-10] = True
    epe = {k: round(endpoint_error(compute_flow(x, y, cfg.backend, params), t, inner), 3)
           for k, (x, y, t) in pairs.items()}
    benchmark.extra_info["epe"] = epe
    times = []
    for _ in range(5 if cfg.backend == "tvl1" else 20):
        t0 = time.perf_counter()
        compute_flow(a, b, cfg.backend, params)
        times.append(time.perf_counter() - t0)
    fps = 1.0 / min(times)
    benchmark.extra_info["fps"] = round(fps, 1)
    print(f"\n{name:28s} {fps:8.1f} pairs/s   EPE px  " + "  ".join(f"{k} {v:.3f}" for k, v in epe.items()))
    assert all(v < 0.5 for v in epe.values())


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Four 128 px face clips of 12 frames, with head motion and an expression."""
    root = tmp_path_factory.mktemp("bench-clips")
    out = []
    for i in range(4):
        head = (lambda k: lambda t: similarity_matrix(0.1 * k * t, 1.0, 0.2 * t, -0.1 * k * t, (64, 64)))(i)
        out.append(make_clip(root / f"c{i}", n_frames=12, apex_position=3 + i, amplitude=1.0, head=head,
                             sample_id=f"c{i}", annotate_apex=i % 2 == 0).sample)
    return out


def typical_run(pp: Preprocessor, samples) -> None:
    """What the baselines and systems ask for: LBP-TOP clip, Bi-WOOF/FeatRef/HTNet maps, region motion."""
    for s in samples:
        pp.aligned_clip(s, FaceConfig(size=112), n=10)
        pp.onset_apex_flow(s, FlowConfig(size=28))
        pp.onset_apex_flow(s, FlowConfig(size=64))
        pp.region_motion(s)


@pytest.mark.benchmark(group="cache, 4 clips x 12 frames (typical bundle requests)")
@pytest.mark.parametrize("state", ["miss (empty cache)", "hit (warm cache)"])
def test_bench_cache(benchmark, state, clips, tmp_path):
    cache = tmp_path / "cache"
    typical_run(Preprocessor(tmp_path / "warm-up"), clips[:1])  # MediaPipe and OpenCV start-up, not counted
    hit = state.startswith("hit")
    if hit:
        typical_run(Preprocessor(cache), clips)
    used: list[Preprocessor] = []

    def setup():
        if not hit:
            shutil.rmtree(cache, ignore_errors=True)
        used.append(Preprocessor(cache))
        return (used[-1], clips), {}

    benchmark.pedantic(typical_run, setup=setup, rounds=5 if hit else 3, iterations=1)
    for pp in used:
        assert (pp.stats()["misses"] == {}) == hit
