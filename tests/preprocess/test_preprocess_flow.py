"""Flow backends, flow configs, strain, temporal normalisation, region pooling and apex peaks, on analytic inputs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from harness.errors import BadInput
from harness.preprocess.config import FaceConfig, FlowConfig, SpotConfig
from harness.preprocess.flow import BACKENDS, compute_flow, endpoint_error, resize_flow
from harness.preprocess.motion import region_features, robust_mean
from harness.preprocess.spotting import motion_curve, peak_position, smooth
from harness.preprocess.strain import strain
from harness.preprocess.temporal import resample_rate, temporal_normalise
from harness.preprocess.testing import (rigid_field, similarity_matrix, smooth_field, textured_image,
                                        warp_forward)

# Mean endpoint error (px) each backend must beat on a 128 px textured pair moved by a smooth field of
# max 1.5 px. Measured (README): dis 0.03, farneback 0.04, tvl1 0.05; the bounds leave room for noise.
EPE_BOUND = {"dis": 0.12, "farneback": 0.12, "tvl1": 0.12}


@pytest.fixture(scope="module")
def pair():
    img = textured_image(128, seed=3)
    truth = smooth_field(128, seed=4, amplitude=1.5)
    return img, warp_forward(img, truth), truth


@pytest.fixture(scope="module")
def interior():
    m = np.zeros((128, 128), bool)
    m[8:-8, 8:-8] = True
    return m


@pytest.mark.parametrize("backend", sorted(EPE_BOUND))
def test_each_backend_recovers_a_known_smooth_displacement(pair, interior, backend):
    a, b, truth = pair
    cfg = FlowConfig(backend, params={"nscales": 3, "warps": 3, "epsilon": 0.05} if backend == "tvl1" else {})
    flow = compute_flow(a, b, cfg.backend, cfg.resolved())
    assert flow.shape == (128, 128, 2) and flow.dtype == np.float32
    epe = endpoint_error(flow, truth, interior)
    assert epe < EPE_BOUND[backend], f"{backend} EPE {epe:.3f}"
    assert epe < 0.3 * endpoint_error(np.zeros_like(truth), truth, interior)  # far better than no motion


def test_every_registered_backend_is_tested():
    assert set(BACKENDS.names()) == set(EPE_BOUND)


def test_flow_of_identical_images_is_zero(pair):
    a = pair[0]
    for backend in ("dis", "farneback"):
        flow = np.abs(compute_flow(a, a, backend))
        assert flow.mean() < 0.005 and flow.max() < 0.2  # Farneback leaves a few 0.1 px ripples at edges


def test_flow_config_validates_names_and_values():
    with pytest.raises(BadInput, match="did you mean 'dis'"):
        FlowConfig("diss")
    with pytest.raises(BadInput, match="did you mean 'winsize'"):
        FlowConfig("farneback", params={"winsiz": 9})
    with pytest.raises(BadInput, match="did you mean 'fast'"):
        FlowConfig("dis", params={"preset": "fastt"})
    with pytest.raises(BadInput, match="must be int"):
        FlowConfig("farneback", params={"levels": 2.5})
    with pytest.raises(BadInput, match="size"):
        FlowConfig(size=2)


def test_flow_config_canonical_form_ignores_spelling_of_defaults():
    assert FlowConfig("dis").canonical() == FlowConfig("dis", params={"preset": "medium"}).canonical()
    assert FlowConfig("tvl1", params={"tau": 1}).canonical() == FlowConfig("tvl1", params={"tau": 1.0}).canonical()
    assert FlowConfig("dis").canonical() != FlowConfig("dis", params={"preset": "fast"}).canonical()
    assert hash(FlowConfig("dis", params={"preset": "fast"})) == hash(FlowConfig("dis", params={"preset": "fast"}))


def test_face_and_spot_configs_reject_bad_values():
    with pytest.raises(BadInput, match="did you mean 'similarity'"):
        FaceConfig(drift="similarty")
    with pytest.raises(BadInput):
        FaceConfig(size=8)
    with pytest.raises(BadInput):
        FaceConfig(margin=-0.1)
    with pytest.raises(BadInput):
        SpotConfig(top_p=0.0)


def test_flow_rejects_mismatched_or_bad_images():
    with pytest.raises(BadInput, match="same size"):
        compute_flow(np.zeros((10, 10), np.uint8), np.zeros((12, 10), np.uint8))
    with pytest.raises(BadInput, match="uint8"):
        compute_flow(np.zeros((10, 10), np.float32), np.zeros((10, 10), np.float32))


def test_resize_flow_rescales_vectors_to_the_new_pixels():
    flow = np.zeros((128, 128, 2), np.float32)
    flow[..., 0], flow[..., 1] = 2.0, -1.0
    small = resize_flow(flow, 32)
    assert small.shape == (32, 32, 2)
    np.testing.assert_allclose(small[..., 0], 0.5, atol=1e-6)
    np.testing.assert_allclose(small[..., 1], -0.25, atol=1e-6)
    assert resize_flow(flow, 128) is not None and resize_flow(flow, (64, 32)).shape == (64, 32, 2)


def test_strain_of_linear_fields_is_exact():
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    # u = a x + b y, v = c x + d y  ->  |e| = sqrt(a^2 + d^2 + (b + c)^2 / 2)
    a, b, c, d = 0.02, 0.01, -0.03, 0.04
    flow = np.stack([a * xx + b * yy, c * xx + d * yy], axis=-1)
    np.testing.assert_allclose(strain(flow), np.sqrt(a ** 2 + d ** 2 + 0.5 * (b + c) ** 2), rtol=1e-5)


def test_strain_ignores_rigid_translation_and_small_rotation():
    flow = rigid_field(similarity_matrix(angle_deg=0.5, tx=1.2, ty=-0.7, center=(16, 16)), (32, 32))
    # a rotation's Jacobian is antisymmetric up to second order: no strain
    assert strain(flow).max() < 1e-3
    assert strain(np.ones((4, 8, 8, 2), np.float32)).shape == (4, 8, 8)
    with pytest.raises(BadInput):
        strain(np.zeros((8, 8), np.float32))


def test_temporal_normalise_keeps_ends_and_interpolates_linearly():
    x = np.arange(5, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    y = temporal_normalise(x, 9)
    assert y.shape == (9, 3)
    np.testing.assert_allclose(y[:, 0], np.linspace(0, 4, 9))
    frames = np.stack([np.full((4, 4), v, np.uint8) for v in (0, 100, 255)])
    z = temporal_normalise(frames, 5)
    assert z.dtype == np.uint8 and list(z[:, 0, 0]) == [0, 50, 100, 178, 255]
    assert temporal_normalise(frames, 1).shape == (1, 4, 4)
    assert temporal_normalise(np.zeros((3, 7, 2)), 4, axis=1).shape == (3, 4, 2)
    with pytest.raises(BadInput):
        temporal_normalise(frames, 0)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 60))
def test_temporal_normalise_stays_within_the_data(length, n):
    x = np.random.default_rng(length).normal(size=(length, 2))
    y = temporal_normalise(x, n)
    assert y.shape == (n, 2)
    assert (y >= x.min(0) - 1e-9).all() and (y <= x.max(0) + 1e-9).all()
    np.testing.assert_allclose(y[0], x[0])
    np.testing.assert_allclose(y[-1], x[-1] if n > 1 else x[0])


def test_resample_rate_keeps_time_span():
    x = np.arange(201, dtype=np.float64)  # 1 s at 200 fps
    y = resample_rate(x, 200, 30)
    assert len(y) == 31
    np.testing.assert_allclose(y, np.arange(31) * 200 / 30)
    with pytest.raises(BadInput):
        resample_rate(x, 0, 30)


def test_robust_mean_takes_the_largest_vectors():
    v = np.array([[0, 0], [0, 0], [0, 0], [4, 0], [0, 2]], np.float32)
    np.testing.assert_allclose(robust_mean(v, 0.4), [2.0, 1.0])
    np.testing.assert_allclose(robust_mean(v, 1.0), v.mean(0))
    with pytest.raises(BadInput):
        robust_mean(np.zeros((0, 2)), 0.3)


def test_region_features_subtract_the_global_motion():
    flows = np.zeros((3, 10, 10, 2), np.float32)
    flows[...] = [0.5, 0.25]            # rigid motion everywhere
    flows[2, :3, :3] += [0.0, -2.0]     # a region moves at t = 2
    masks = np.zeros((2, 10, 10), bool)
    masks[0, :3, :3] = True
    masks[1, 6:, 6:] = True
    nose = np.zeros((10, 10), bool)
    nose[4:6, 4:6] = True
    f = region_features(flows, masks, nose, top_p=0.5)
    assert f.shape == (3, 2, 2)
    np.testing.assert_allclose(f[2, 0], [0.0, -2.0], atol=1e-6)
    np.testing.assert_allclose(f[:2], 0.0, atol=1e-6)
    np.testing.assert_allclose(f[2, 1], 0.0, atol=1e-6)


def test_peak_position_finds_the_smoothed_maximum_and_never_the_onset():
    curve = np.array([5.0, 0.1, 0.3, 0.9, 1.0, 0.8, 0.2])
    assert peak_position(curve, 1) == 4
    spike_then_plateau = np.array([0.0, 0.0, 4.0, 0.0, 0.0, 1.5, 1.5, 1.5, 0.0])
    assert peak_position(spike_then_plateau, 1) == 2
    assert peak_position(spike_then_plateau, 3) == 6  # a one-frame spike is smoothed away
    assert peak_position(np.array([0.0])) == 0
    np.testing.assert_allclose(smooth(np.array([0.0, 3.0, 0.0]), 3), [1.5, 1.0, 1.5])
    assert motion_curve(np.array([[[3.0, 4.0], [0.0, 0.0]]])).tolist() == [2.5]


def test_dis_overrides_are_type_checked_and_change_the_key():
    with pytest.raises(BadInput, match="finest_scale must be int"):
        FlowConfig("dis", params={"finest_scale": 0.5})
    assert FlowConfig("dis", params={"finest_scale": 0}).canonical() != FlowConfig("dis").canonical()
    assert FlowConfig("dis", params={"finest_scale": None}).canonical() == FlowConfig("dis").canonical()
    assert FlowConfig("dis", params={"variational_refinement_alpha": 10}).resolved()["variational_refinement_alpha"] == 10.0
