"""LBP-TOP extractor on hand-checkable inputs: single codes, the u2 table, blocks, normalisation, and the
vectorised operator against a plain per-pixel loop of Zhao's definition."""
from __future__ import annotations

import numpy as np
import pytest

from tests.baselines.helpers import bundle_module

lbptop = bundle_module("lbp-top", "lbptop")
R1 = lbptop.LbpTopParams(radius_x=1, radius_y=1, radius_t=1, rows=1, cols=1)


def _clip(middle: np.ndarray, before: float = 0.0, after: float = 0.0) -> np.ndarray:
    """A 3-frame 3x3 clip: `middle` in frame 1, constant frames around it."""
    return np.stack([np.full((3, 3), before), middle, np.full((3, 3), after)]).astype(np.float64)


def test_single_xy_code_of_a_hand_made_neighbourhood():
    # bit p <-> angle 45p degrees counter-clockwise from east: E, NE, N, NW, W, SW, S, SE
    middle = np.array([[90, 120, 50],     # NW N NE
                       [200, 100, 100],   # W  C  E
                       [30, 101, 99]])    # SW S SE
    codes = lbptop.plane_codes(_clip(middle), "xy", R1)
    assert codes.shape == (1, 1, 1)
    # E=100>=100 (bit 0), N=120 (bit 2), W=200 (bit 4), S=101 (bit 6): 1 + 4 + 16 + 64
    assert codes[0, 0, 0] == 0b01010101 == 85


def test_uniform_code_lands_in_its_u2_bin():
    middle = np.array([[0, 150, 150],
                       [0, 100, 150],
                       [0, 0, 0]])
    code = lbptop.plane_codes(_clip(middle), "xy", R1)[0, 0, 0]
    assert code == 0b111  # E, NE, N
    # uniform codes in ascending order: 0, 1, 2, 3, 4, 6, 7 -> 7 is the 7th (index 6)
    assert lbptop.u2_mapping(8)[code] == 6


def test_temporal_planes_see_previous_frame_and_the_row_above():
    # centre 100; only the previous frame's centre (t-1) and the pixel above (y-1, same frame) are brighter
    middle = np.array([[0, 200, 0], [0, 100, 0], [0, 0, 0]])
    clip = _clip(middle)
    clip[0, 1, 1] = 150
    xt = lbptop.plane_codes(clip, "xt", R1)[0, 0, 0]
    yt = lbptop.plane_codes(clip, "yt", R1)[0, 0, 0]
    xy = lbptop.plane_codes(clip, "xy", R1)[0, 0, 0]
    assert xy == 1 << 2            # N (y-1) in the XY plane
    assert xt == 1 << 2            # XT: bit 2 at (x, t-1)
    assert yt == (1 << 0) | (1 << 2)  # YT: bit 0 at (y - R cos 0 = y-1, t), bit 2 at (y, t-1)


def test_u2_mapping_has_58_uniform_bins_and_one_for_the_rest():
    table = lbptop.u2_mapping(8)
    counts = np.bincount(table, minlength=59)
    assert len(counts) == 59 and (counts[:58] == 1).all() and counts[58] == 256 - 58
    assert table[0] == 0 and table[255] == 57 and table[0b101] == 58
    for p in (4, 6, 8, 10):
        assert lbptop.u2_mapping(p).max() == p * (p - 1) + 2


def test_histograms_are_normalised_per_block_and_plane():
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (12, 40, 40)).astype(np.uint8)
    params = lbptop.LbpTopParams(radius_t=2)
    f = lbptop.lbp_top(clip, params)
    assert f.shape == (params.n_features,) == (5 * 5 * 3 * 59,)
    np.testing.assert_allclose(f.reshape(5, 5, 3, 59).sum(axis=-1), 1.0, rtol=1e-6)
    raw = lbptop.lbp_top(clip, lbptop.LbpTopParams(radius_t=2, normalise=False)).reshape(5, 5, 3, 59)
    assert raw.sum() == 3 * (12 - 4) * (40 - 2) * (40 - 2)  # every centre pixel counted once per plane


def test_block_edges_partition_and_overlap():
    assert lbptop.block_edges(10, 5) == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
    edges = lbptop.block_edges(100, 4, overlap=0.5)
    sizes = {b - a for a, b in edges}
    assert edges[0][0] == 0 and edges[-1][1] == 100 and sizes == {40}
    assert all(b1 - a2 == 20 for (_, b1), (a2, _) in zip(edges, edges[1:]))  # half a block shared


def _naive_codes(clip: np.ndarray, plane: str, r: tuple[float, float, float], p: int = 8) -> np.ndarray:
    """Zhao's LBPTOP definition, one centre at a time (nearest rounding: floor(pos + 0.5))."""
    t_n, h, w = clip.shape
    bt, by, bx = (int(np.ceil(v)) for v in (r[2], r[1], r[0]))
    out = np.zeros((t_n - 2 * bt, h - 2 * by, w - 2 * bx), dtype=np.int64)
    for t in range(bt, t_n - bt):
        for y in range(by, h - by):
            for x in range(bx, w - bx):
                code = 0
                for k in range(p):
                    a = 2 * np.pi * k / p
                    c, s = np.round(np.cos(a), 12), np.round(np.sin(a), 12)
                    if plane == "xy":
                        tt, yy, xx = t, np.floor(y - r[1] * s + 0.5), np.floor(x + r[0] * c + 0.5)
                    elif plane == "xt":
                        tt, yy, xx = np.floor(t - r[2] * s + 0.5), y, np.floor(x + r[0] * c + 0.5)
                    else:
                        tt, yy, xx = np.floor(t - r[2] * s + 0.5), np.floor(y - r[1] * c + 0.5), x
                    if clip[int(tt), int(yy), int(xx)] >= clip[t, y, x]:
                        code |= 1 << k
                out[t - bt, y - by, x - bx] = code
    return out


@pytest.mark.parametrize("points", [(8, 8, 8), (4, 4, 4), (4, 6, 8)])
@pytest.mark.parametrize("radii", [(1, 1, 1), (1, 1, 2), (2, 3, 1), (1, 1, 4)])
@pytest.mark.parametrize("plane", ["xy", "xt", "yt"])
def test_vectorised_nearest_codes_equal_the_per_pixel_definition(plane, radii, points):
    rng = np.random.default_rng(1)
    clip = rng.integers(0, 6, (10, 9, 10)).astype(np.uint8)  # few grey levels: many ties, the >= matters
    params = lbptop.LbpTopParams(radius_x=radii[0], radius_y=radii[1], radius_t=radii[2], points_xy=points[0],
                                 points_xt=points[1], points_yt=points[2])
    p = dict(zip(lbptop.PLANES, points))[plane]
    np.testing.assert_array_equal(lbptop.plane_codes(clip, plane, params), _naive_codes(clip, plane, radii, p))


@pytest.mark.parametrize("points", [(4, 4, 4), (4, 6, 8)])
def test_bilinear_codes_equal_scikit_image_on_every_plane_with_its_own_points(points):
    """Where the definitions agree (bilinear sampling, one radius), every plane with its own P equals
    scikit-image's `local_binary_pattern` on every slice of that plane (YT slices y-reversed: LBP-TOP's YT
    neighbour sits at y - R cos a, scikit-image's column offset is + R cos a)."""
    from skimage.feature import local_binary_pattern as lbp

    rng = np.random.default_rng(3)
    clip = rng.integers(0, 8, (9, 12, 11)).astype(np.uint8)
    r = 1.5
    params = lbptop.LbpTopParams(radius_x=r, radius_y=r, radius_t=r, points_xy=points[0], points_xt=points[1],
                                 points_yt=points[2], interpolation="bilinear")
    t_n, h, w = clip.shape
    b = 2
    p_xy, p_xt, p_yt = points
    xy = np.stack([lbp(clip[t], p_xy, r, "default")[b:h - b, b:w - b] for t in range(b, t_n - b)])
    xt = np.stack([lbp(clip[:, y, :], p_xt, r, "default")[b:t_n - b, b:w - b] for y in range(b, h - b)], axis=1)
    yt = np.stack([lbp(clip[:, ::-1, x], p_yt, r, "default")[b:t_n - b, b:h - b][:, ::-1]
                   for x in range(b, w - b)], axis=2)
    for plane, ref in zip(lbptop.PLANES, (xy, xt, yt)):
        np.testing.assert_array_equal(lbptop.plane_codes(clip, plane, params), ref.astype(np.int64), err_msg=plane)


def test_points_per_plane_set_each_planes_u2_bins():
    params = lbptop.LbpTopParams(points_xy=4, points_xt=4, points_yt=4)       # the MEGC2019 baseline: P = 4
    assert [params.bins(p) for p in lbptop.PLANES] == [15, 15, 15] and params.n_features == 5 * 5 * 3 * 15
    mixed = lbptop.LbpTopParams(points_xy=4, points_xt=6, points_yt=8, radius_t=2)
    assert mixed.n_features == 25 * (15 + 33 + 59)
    clip = np.random.default_rng(4).integers(0, 256, (8, 30, 30)).astype(np.uint8)
    f = lbptop.lbp_top(clip, mixed).reshape(25, -1)
    np.testing.assert_allclose(f[:, :15].sum(1), 1.0, rtol=1e-6)              # XY: 15 bins, normalised
    np.testing.assert_allclose(f[:, 15:48].sum(1), 1.0, rtol=1e-6)            # XT: 33
    np.testing.assert_allclose(f[:, 48:].sum(1), 1.0, rtol=1e-6)              # YT: 59


def test_bilinear_xy_codes_equal_scikit_image_bit_for_bit():
    from skimage.feature import local_binary_pattern

    rng = np.random.default_rng(2)
    clip = rng.integers(0, 256, (5, 20, 24)).astype(np.uint8)
    clip[:, 5:12, 5:12] = 77  # flat patch: interpolated ties
    params = lbptop.LbpTopParams(radius_x=1.5, radius_y=1.5, radius_t=1, interpolation="bilinear")
    codes = lbptop.plane_codes(clip, "xy", params)
    for t in range(1, 4):
        ref = local_binary_pattern(clip[t], 8, 1.5, method="default")[2:-2, 2:-2]
        np.testing.assert_array_equal(codes[t - 1], ref.astype(np.int64))


def test_bad_parameters_and_short_clips_are_refused():
    with pytest.raises(ValueError, match="interpolation"):
        lbptop.LbpTopParams(interpolation="cubic")
    with pytest.raises(ValueError, match="points_xy"):
        lbptop.LbpTopParams(points_xy=32)
    with pytest.raises(ValueError, match="too small"):
        lbptop.lbp_top(np.zeros((5, 20, 20)), lbptop.LbpTopParams(radius_t=4))
