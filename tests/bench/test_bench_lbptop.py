"""LBP-TOP: our vectorised extractor vs the straightforward per-slice approach (scikit-image's 2-D
`local_binary_pattern` on every XY, XT and YT slice), on the same clip.

Where the definitions agree -- bilinear interpolation, one radius R for X, Y and T (scikit-image has a single
radius), P = 8 on every plane -- the raw codes are equal bit for bit and the 59-bin features are equal after
relabelling scikit-image's `nri_uniform` bins (its own numbering of the same 58 uniform patterns + 1) to the u2
order. (scikit-image's `uniform` is the rotation-INVARIANT variant with P + 2 = 10 bins: not LBP-TOP's u2.)
Where they do not agree -- Zhao's nearest rounding, or R_T != R_X -- there is no per-slice equivalent to check,
only to time.

Run: `make bench` (or `pytest -m bench tests/bench/test_bench_lbptop.py --benchmark-enable -s`).
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from tests.baselines.helpers import bundle_module

pytestmark = pytest.mark.bench
lbptop = bundle_module("lbp-top", "lbptop")

R = 2
AGREE = lbptop.LbpTopParams(radius_x=R, radius_y=R, radius_t=R, interpolation="bilinear")
# the bundle's own (the MEGC2019 setting): nearest rounding, P = 4 on every plane, R = (1, 1, 4)
DEFAULT = lbptop.LbpTopParams(points_xy=4, points_xt=4, points_yt=4)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    """20 frames of a 128 px face-sized image under a slow sub-pixel drift, 8-bit (so ties occur)."""
    from scipy.ndimage import shift
    from skimage import data

    base = data.camera()[100:228, 200:328].astype(np.float64)
    frames = [shift(base, (0.15 * t, -0.1 * t), order=1, mode="nearest") for t in range(20)]
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def per_slice_codes(clip: np.ndarray, method: str, r: float = R) -> dict[str, np.ndarray]:
    """scikit-image LBP on every slice of each plane, cut to the centres LBP-TOP uses ((T', H', W') each).

    YT slices are passed with y reversed: LBP-TOP's YT neighbour p sits at y - R cos(a_p), which is scikit-image's
    +R cos(a_p) column offset on the reversed slice.
    """
    from skimage.feature import local_binary_pattern as lbp

    t_n, h, w = clip.shape
    b = int(np.ceil(r))
    out = {p: np.zeros((t_n - 2 * b, h - 2 * b, w - 2 * b), dtype=np.int64) for p in lbptop.PLANES}
    for t in range(b, t_n - b):
        out["xy"][t - b] = lbp(clip[t], 8, r, method)[b:h - b, b:w - b]
    for y in range(b, h - b):
        out["xt"][:, y - b, :] = lbp(clip[:, y, :], 8, r, method)[b:t_n - b, b:w - b]
    for x in range(b, w - b):
        out["yt"][:, :, x - b] = lbp(clip[:, ::-1, x], 8, r, method)[b:t_n - b, b:h - b][:, ::-1]
    return out


def per_slice_lbp_top(clip: np.ndarray) -> np.ndarray:
    """The LBP-TOP feature built the straightforward way: per-slice nri_uniform codes, then block histograms
    (in scikit-image's bin order)."""
    codes = per_slice_codes(clip, "nri_uniform")
    grid = (AGREE.time_blocks, AGREE.rows, AGREE.cols)
    hists = [lbptop.block_histograms(codes[p], 59, grid, AGREE.overlap, AGREE.normalise) for p in lbptop.PLANES]
    return np.concatenate(hists, axis=-1).ravel()


def _best_of(fn, *args, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def test_raw_codes_agree_bit_for_bit_on_all_three_planes(clip):
    ours = {p: lbptop.plane_codes(clip, p, AGREE) for p in lbptop.PLANES}
    ref = per_slice_codes(clip, "default")
    for p in lbptop.PLANES:
        np.testing.assert_array_equal(ours[p], ref[p], err_msg=f"plane {p}")


def test_features_agree_after_relabelling_nri_uniform_bins_to_u2(clip):
    raw = per_slice_codes(clip, "default")
    nri = per_slice_codes(clip, "nri_uniform")
    u2 = lbptop.u2_mapping(8)
    # scikit-image's bin of each raw code, read off its own two outputs; it must be a relabelling of u2
    pairs = {(int(n), int(u2[c])) for p in lbptop.PLANES for n, c in zip(nri[p].ravel(), raw[p].ravel())}
    to_u2 = dict(pairs)
    assert len(to_u2) == len(pairs) == len({u for _, u in pairs}), "nri_uniform and u2 partition codes differently"
    assert to_u2.get(58) in (None, 58)  # the non-uniform bin is the last in both
    ref = per_slice_lbp_top(clip).reshape(-1, 59)
    perm = np.arange(59)
    for n, u in to_u2.items():
        perm[u] = n                       # our bin u holds what scikit-image counts in its bin n
    ours = lbptop.lbp_top(clip, AGREE).reshape(-1, 59)
    np.testing.assert_allclose(ours, ref[:, perm], rtol=0, atol=1e-7)


def test_speed_ratio_vectorised_vs_per_slice(clip, capsys, record_property):
    slow = _best_of(per_slice_lbp_top, clip, repeats=1)
    fast = _best_of(lbptop.lbp_top, clip, AGREE)
    fast_default = _best_of(lbptop.lbp_top, clip, DEFAULT)
    ratio = slow / fast
    record_property("per_slice_s", slow)
    record_property("vectorised_s", fast)
    record_property("speed_ratio", ratio)
    with capsys.disabled():
        print(f"\nLBP-TOP on a {clip.shape} clip: per-slice scikit-image {slow * 1000:.0f} ms "
              f"({clip.shape[0] + clip.shape[1] + clip.shape[2] - 6 * R} slices), vectorised {fast * 1000:.1f} ms "
              f"(bilinear, R={R}) -> {ratio:.1f}x; bundle default (nearest, P=4, R=1,1,4) {fast_default * 1000:.1f} ms")
    assert ratio > 1.0


def test_bench_vectorised(benchmark, clip):
    benchmark.group = "lbp-top"
    benchmark(lbptop.lbp_top, clip, AGREE)


def test_bench_per_slice_scikit_image(benchmark, clip):
    benchmark.group = "lbp-top"
    benchmark.pedantic(per_slice_lbp_top, args=(clip,), rounds=2, iterations=1)
