"""A real face-landmark detector (mediapipe face mesh, offline) finds the procedurally drawn faces in the
written onset frames at the default frame size."""
from __future__ import annotations

import mediapipe as mp
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.mediapipe]


def test_face_mesh_finds_the_faces_in_onset_frames(tmp_path):
    from harness.datasets import load_dataset
    from harness.datasets.frames import list_frames
    from harness.imageio import read_frames
    from harness.synth.config import SynthConfig
    from harness.synth.writer import generate

    keys = ("casme2", "samm", "smic")
    generate(tmp_path, ",".join(keys), seed=21, config=SynthConfig(samples_per_subject=2), subjects=6, workers=1,
             progress=False)
    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False,
                                           min_detection_confidence=0.5)
    found, total, faces = 0, 0, set()
    try:
        for key in keys:
            for row in load_dataset(tmp_path, key).table.itertuples():
                (frame,) = read_frames([list_frames(row.clip_dir)[int(row.onset)]])
                total += 1
                faces.add((key, row.subject))
                found += mesh.process(frame).multi_face_landmarks is not None
    finally:
        mesh.close()
    rate = found / total
    print(f"\nmediapipe face mesh detection rate on onset frames: {rate:.3f} ({found}/{total} frames, "
          f"{len(faces)} subjects, 128 px)")
    assert len(faces) == 18
    assert rate >= 0.95
