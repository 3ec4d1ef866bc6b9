"""Bi-WOOF on hand-checkable flows: uniform fields, strain weighting per block, L2 norm, the bin-edge quirk."""
from __future__ import annotations

import numpy as np
import pytest

from tests.baselines.helpers import bundle_module

bw = bundle_module("bi-woof", "biwoof")


def _uniform(u: float, v: float, size: int = 20) -> np.ndarray:
    return np.broadcast_to(np.array([u, v], np.float32), (size, size, 2)).copy()


@pytest.mark.parametrize("u, v, expected_bin", [
    (1.0, 0.0, 4),     # 0 degrees: bins are [-180,-135), ..., [0, 45) is the 5th
    (0.0, -1.0, 6),    # image v < 0 is upward motion: +90 degrees
    (0.0, 1.0, 2),     # downward: -90 degrees
    (-1.0, 0.0, 0),    # 180 degrees wraps to the first bin [-180, -135)
    (1.0, -1.0, 5),    # 45 degrees opens the 6th bin
])
def test_uniform_flow_puts_all_weight_in_one_orientation_bin(u, v, expected_bin):
    flow = _uniform(u, v)
    bins = bw.orientation_bins(bw.orientation_degrees(flow))
    hist = bw.local_histogram(bins, np.hypot(flow[..., 0], flow[..., 1]), 8)
    np.testing.assert_allclose(hist, np.eye(8)[expected_bin])


def test_strain_is_the_global_weight_of_each_block_and_the_vector_is_l2_normalised():
    flow = _uniform(2.0, 0.0, size=10)
    strain = np.zeros((10, 10))
    weights = np.arange(1, 26, dtype=float).reshape(5, 5)  # each 2x2 block gets its own strain level
    for i in range(5):
        for j in range(5):
            strain[2 * i:2 * i + 2, 2 * j:2 * j + 2] = weights[i, j] / 4  # block sum = weights[i, j]
    f = bw.biwoof(flow, strain).reshape(5, 5, 8)
    expected = np.zeros((5, 5, 8))
    expected[..., 4] = weights / np.linalg.norm(weights)
    np.testing.assert_allclose(f, expected, rtol=1e-6)
    assert np.linalg.norm(f) == pytest.approx(1.0)


def test_local_histogram_is_magnitude_weighted_and_sums_to_one():
    flow = np.zeros((4, 4, 2), np.float32)
    flow[:2, :, 0] = 3.0    # 8 pixels moving right with magnitude 3
    flow[2:, :, 1] = -1.0   # 8 pixels moving up with magnitude 1
    bins = bw.orientation_bins(bw.orientation_degrees(flow))
    hist = bw.local_histogram(bins, np.hypot(flow[..., 0], flow[..., 1]), 8)
    np.testing.assert_allclose(hist[[4, 6]], [0.75, 0.25])
    assert hist.sum() == pytest.approx(1.0)


def test_no_motion_gives_a_zero_vector_not_nan():
    f = bw.biwoof(np.zeros((20, 20, 2)), np.zeros((20, 20)))
    assert f.shape == (200,) and not f.any()


def test_histc_quirk_drops_orientations_above_135_degrees():
    theta = np.array([-180.0, -1.0, 134.9, 135.0, 150.0, 180.0])
    np.testing.assert_array_equal(bw.orientation_bins(theta, 8, "histc"), [0, 3, 6, 7, -1, -1])
    np.testing.assert_array_equal(bw.orientation_bins(theta, 8, "equal"), [0, 3, 6, 7, 7, 0])


def test_blocks_partition_the_map():
    assert bw.block_edges(12, 5) == [(0, 2), (2, 4), (4, 7), (7, 9), (9, 12)]
    with pytest.raises(ValueError):
        bw.BiWoofParams(bin_edges="histogram")
