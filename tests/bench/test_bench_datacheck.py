"""Side-by-side: how `harness data check` checks frames are images, on the SAME clips (60 clips x 40 frames of
128 px JPEG, 3 key frames each).

* `key-frames-signature` (ours): signature and end marker of the onset, apex and offset frames (`image_defect`);
* `key-frames-decode`: a full `cv2.imread` of the same three frames;
* `all-frames-signature`: the signature check of every frame of every clip;
* `all-frames-decode`: a full decode of every frame (what a bundle reading whole sequences does).

All four must find the same one broken key frame. Run: `make bench`.
"""
from __future__ import annotations

import numpy as np
import pytest

from harness.datasets.frames import image_defect
from harness.imageio import write_frame

pytestmark = pytest.mark.bench

CLIPS, FRAMES, SIZE = 60, 40, 128


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(3)
    out = []
    for c in range(CLIPS):
        paths = []
        for i in range(FRAMES):
            path = root / f"c{c:03d}" / f"{i}.jpg"
            write_frame(path, rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8))
            paths.append(path)
        out.append(paths)
    broken = out[7][FRAMES // 2]
    broken.write_bytes(broken.read_bytes()[:500])  # a truncated apex
    return out, broken


def _key(paths):
    return [paths[0], paths[len(paths) // 2], paths[-1]]


def _decode_defect(path):
    import cv2

    return None if cv2.imread(str(path)) is not None else "cannot be decoded"


def _run(clips, pick, check):
    return [p for paths in clips for p in pick(paths) if check(p)]


CASES = {"key_frames_signature": (_key, image_defect), "key_frames_decode": (_key, _decode_defect),
         "all_frames_signature": (list, image_defect), "all_frames_decode": (list, _decode_defect)}


@pytest.mark.benchmark(group="data check: frames are images (60 clips x 40 frames)")
@pytest.mark.parametrize("case", list(CASES))
def test_bench(benchmark, clips, case):
    pick, check = CASES[case]
    assert benchmark(_run, clips[0], pick, check) == [clips[1]]
