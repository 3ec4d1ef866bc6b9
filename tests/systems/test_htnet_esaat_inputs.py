"""htnet-esaat's input through the real shared preprocessing: the four-region mosaic of a face clip whose mouth
corners move up and out, and the zero mosaic + mask of a clip without a face."""
from __future__ import annotations

import numpy as np
import pytest

from harness.api import Context
from harness.preprocess import Preprocessor
from harness.preprocess.testing import make_clip, write_sample
from tests.systems.test_htnet_esaat import bundle_module

pytestmark = pytest.mark.mediapipe


def test_flow_mosaics_place_the_regions_and_mark_faceless_clips(tmp_path):
    inputs = bundle_module("inputs")
    face = make_clip(tmp_path / "face", n_frames=7, apex_position=3, amplitude=1.5, sample_id="face").sample
    blank = write_sample(tmp_path / "blank", [np.zeros((96, 96, 3), np.uint8)] * 4, "blank", apex=3)
    ctx = Context(classes=("a", "b"), protocol="p", phase=None, fold="f", seed=0, device="cpu", profile="quick",
                  config={}, cache_dir=tmp_path / "cache", work_dir=tmp_path / "work",
                  preprocessor=Preprocessor(tmp_path / "cache"))
    x, ok = inputs.flow_mosaics([face, blank], ctx, size=32)
    assert x.shape == (2, 3, 32, 32) and x.dtype == np.float32 and ok.tolist() == [True, False]
    assert not x[1].any() and ctx.records["preprocess.no_face_skipped"] == 1
    u, v, strain = x[0]
    # bottom row = the mouth-corner crops (image-left corner first), each centred on its corner: around the
    # centre both corners move up, the left one left and the right one right (the clip's AU12-like motion)
    bl, br = (slice(20, 28), slice(4, 12)), (slice(20, 28), slice(20, 28))
    assert v[bl].mean() < -0.1 and v[br].mean() < -0.1
    assert u[bl].mean() < -0.05 and u[br].mean() > 0.05
    assert (strain >= 0).all() and strain[16:].mean() > 0
