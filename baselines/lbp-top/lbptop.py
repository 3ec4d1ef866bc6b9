"""Uniform (u2) LBP-TOP of a gray clip (Zhao & Pietikainen, TPAMI 2007), vectorised in NumPy.

No library offers LBP-TOP: scikit-image and OpenCV have 2-D LBP only, and the MER references (Zhao's MATLAB
`LBPTOP`, MEB's port of it) loop over every pixel. Here every neighbour of every centre pixel is sampled at once:
a neighbour offset is the same for all centres of a plane, so sampling it is one shifted (and, for bilinear
interpolation, weighted) view of the whole volume. Codes are then mapped to the 59 u2 bins with a lookup table
and counted per block with `np.bincount`.

Geometry, as in Zhao's `LBPTOP` code (and MEB's port):
- XY plane: neighbour p at (x + R_X cos a_p, y - R_Y sin a_p), a_p = 2 pi p / P; bit p has weight 2^p and is set
  when the neighbour is >= the centre.
- XT plane: (x + R_X cos a_p, t - R_T sin a_p) at the centre's row y.
- YT plane: (y - R_Y cos a_p, t - R_T sin a_p) at the centre's column x.
- Centres are the pixels at least ceil(R) from every border (the same set for the three planes).
- "nearest" sampling rounds each neighbour position as Zhao's code does (floor(pos + 0.5)); "bilinear" uses the
  interpolation of scikit-image's `local_binary_pattern`, so that a 2-D slice of this operator agrees bit for
  bit with it (see tests/bench/test_bench_lbptop.py).
Offsets are rounded to 5 decimals before use (as scikit-image does) so that cos(pi/2) = 6e-17 is 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

PLANES = ("xy", "xt", "yt")
INTERPOLATIONS = ("nearest", "bilinear")


@dataclass(frozen=True)
class LbpTopParams:
    """The operator LBP-TOP_{P_XY,P_XT,P_YT,R_X,R_Y,R_T} on a rows x cols x time_blocks grid.

    overlap: fraction of a block shared with its neighbour along x and y (0 = a partition; MEB uses 0.7).
    normalise: divide each block-plane histogram by its pixel count (so clip size does not scale features).
    """

    radius_x: float = 1.0
    radius_y: float = 1.0
    radius_t: float = 4.0
    points_xy: int = 8
    points_xt: int = 8
    points_yt: int = 8
    rows: int = 5
    cols: int = 5
    time_blocks: int = 1
    overlap: float = 0.0
    interpolation: str = "nearest"
    normalise: bool = True

    def __post_init__(self) -> None:
        for name in ("radius_x", "radius_y", "radius_t"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("points_xy", "points_xt", "points_yt"):
            p = getattr(self, name)
            if not isinstance(p, int) or not 2 <= p <= 16:
                raise ValueError(f"{name} must be an int in [2, 16] (the u2 table has 2^P entries), got {p!r}")
        for name in ("rows", "cols", "time_blocks"):
            n = getattr(self, name)
            if not isinstance(n, int) or n < 1:
                raise ValueError(f"{name} must be an int >= 1, got {n!r}")
        if not 0.0 <= float(self.overlap) < 1.0:
            raise ValueError(f"overlap must be in [0, 1), got {self.overlap!r}")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {self.interpolation!r}")

    def points(self, plane: str) -> int:
        return {"xy": self.points_xy, "xt": self.points_xt, "yt": self.points_yt}[plane]

    def border(self) -> tuple[int, int, int]:
        """Pixels skipped at each end of (t, y, x): no neighbour of a centre falls outside the clip."""
        return (int(np.ceil(self.radius_t)), int(np.ceil(self.radius_y)), int(np.ceil(self.radius_x)))

    def bins(self, plane: str) -> int:
        p = self.points(plane)
        return p * (p - 1) + 3

    @property
    def n_features(self) -> int:
        return self.rows * self.cols * self.time_blocks * sum(self.bins(pl) for pl in PLANES)

    def min_frames(self) -> int:
        return 2 * self.border()[0] + self.time_blocks


# --- the u2 mapping ------------------------------------------------------------------------------------------------
def transitions(codes: np.ndarray, p: int) -> np.ndarray:
    """Number of 0/1 changes around the circle of each P-bit code."""
    codes = np.asarray(codes, dtype=np.int64)
    rotated = ((codes << 1) | (codes >> (p - 1))) & ((1 << p) - 1)
    x = codes ^ rotated
    count = np.zeros_like(x)
    for bit in range(p):
        count += (x >> bit) & 1
    return count


@lru_cache(maxsize=None)
def u2_mapping(p: int) -> np.ndarray:
    """Code (0..2^P-1) -> u2 bin: uniform codes (<= 2 circular transitions) numbered in ascending code order
    0..P(P-1)+1, every non-uniform code in the last bin P(P-1)+2 (Ojala et al. 2002; Zhao's `getmapping('u2')`)."""
    codes = np.arange(1 << p)
    uniform = transitions(codes, p) <= 2
    table = np.full(codes.shape, p * (p - 1) + 2, dtype=np.int64)
    table[uniform] = np.arange(int(uniform.sum()))
    table.setflags(write=False)
    return table


# --- sampling ------------------------------------------------------------------------------------------------------
def _angles(p: int) -> np.ndarray:
    return 2 * np.pi * np.arange(p, dtype=np.float64) / p


def _plane_axes(plane: str, params: LbpTopParams) -> tuple[int, int, float, float]:
    """(row axis, column axis, row radius, column radius) of a plane in a (T, H, W) volume; rows point "up"
    (offset -R sin a), columns "right" (offset +R cos a). YT's columns run against y (y - R_Y cos a), handled by
    each sampler (`_codes_nearest` negates the offset, `_codes_bilinear` flips the volume)."""
    return {
        "xy": (1, 2, params.radius_y, params.radius_x),
        "xt": (0, 2, params.radius_t, params.radius_x),
        "yt": (0, 1, params.radius_t, params.radius_y),
    }[plane]


def _offsets(plane: str, params: LbpTopParams) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets of the P neighbours, rounded to 5 decimals."""
    _, _, r_row, r_col = _plane_axes(plane, params)
    a = _angles(params.points(plane))
    return np.round(-r_row * np.sin(a), 5), np.round(r_col * np.cos(a), 5)


def _centre_slices(shape: tuple[int, int, int], border: tuple[int, int, int]) -> tuple[slice, ...]:
    return tuple(slice(b, n - b) for n, b in zip(shape, border))


def _codes_nearest(vol: np.ndarray, plane: str, params: LbpTopParams) -> np.ndarray:
    """Codes with neighbour positions rounded as Zhao's code does, floor(pos + 0.5), on the unflipped volume."""
    border = params.border()
    row_axis, col_axis, _, _ = _plane_axes(plane, params)
    centre = vol[_centre_slices(vol.shape, border)]
    codes = np.zeros(centre.shape, dtype=np.int64)
    for bit, (d_row, d_col) in enumerate(zip(*_offsets(plane, params))):
        if plane == "yt":  # YT's column runs against y: y - R_Y cos a
            d_col = -d_col
        shift = [0, 0, 0]
        shift[row_axis] = int(np.floor(d_row + 0.5))
        shift[col_axis] = int(np.floor(d_col + 0.5))
        values = vol[tuple(slice(b + s, n - b + s) for n, b, s in zip(vol.shape, border, shift))]
        codes |= (values >= centre).astype(np.int64) << bit
    return codes


def _axis_weights(n: int, b: int, d: float) -> tuple[int, int, np.ndarray]:
    """Offset d along an axis with centres b..n-b-1: floor and ceil shifts and the per-centre fractional weight,
    computed as scikit-image's bilinear_interpolation does (pos = centre + d; w = pos - floor(pos)).

    d has 5 decimals, so floor(centre + d) = centre + floor(d) for every centre: the shifts are constant and the
    neighbours are plain slices; only the weight differs (in its last bits) from centre to centre.
    """
    pos = np.arange(b, n - b, dtype=np.float64) + d
    return int(np.floor(d)), int(np.ceil(d)), pos - np.floor(pos)


_SLAB = 1 << 17


def _lerp(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(1 - w) a + w b, evaluated as scikit-image does; w == 0 everywhere gives exactly a (as its formula does)."""
    if not w.any():
        return a
    out = (1 - w) * a
    out += w * b
    return out


def _codes_bilinear(vol: np.ndarray, plane: str, params: LbpTopParams, flipped: bool = False) -> np.ndarray:
    """Codes with neighbours interpolated bilinearly in the plane, with scikit-image's arithmetic (float64, per
    centre weights), so that one slice agrees bit for bit with `local_binary_pattern` on that slice.

    YT's column runs against y (y - R_Y cos a), which is +R_Y cos a on the y-flipped volume: the codes are
    computed there and flipped back, exactly as scikit-image would see a y-reversed YT slice.
    """
    if plane == "yt" and not flipped:
        return _codes_bilinear(vol[:, ::-1, :], "yt", params, flipped=True)[:, ::-1, :]
    border = params.border()
    row_axis, col_axis, _, _ = _plane_axes(plane, params)
    fixed = 3 - row_axis - col_axis
    # (fixed, row, col) copy of the volume, the fixed axis already cut to the centre range (contiguous: the
    # shifted slices below are then cheap to read)
    sub = np.ascontiguousarray(
        np.moveaxis(vol, [fixed, row_axis, col_axis], [0, 1, 2])[border[fixed]:vol.shape[fixed] - border[fixed]])
    br, bc = border[row_axis], border[col_axis]
    nr, nc = sub.shape[1], sub.shape[2]
    weights = []
    for d_row, d_col in zip(*_offsets(plane, params)):
        r_lo, r_hi, fr = _axis_weights(nr, br, d_row)
        c_lo, c_hi, fc = _axis_weights(nc, bc, d_col)
        weights.append((r_lo, r_hi, fr[None, :, None], c_lo, c_hi, fc[None, None, :]))
    codes = np.zeros((sub.shape[0], nr - 2 * br, nc - 2 * bc), dtype=np.int64)
    # slabs of ~2^17 values along the fixed axis keep the temporaries in cache (about 1.6x faster than one pass)
    step = max(1, _SLAB // (nr * nc))
    for s0 in range(0, sub.shape[0], step):
        slab = sub[s0:s0 + step]
        centre = slab[:, br:nr - br, bc:nc - bc]

        def at(dr: int, dc: int) -> np.ndarray:  # called only inside this iteration
            return slab[:, br + dr:nr - br + dr, bc + dc:nc - bc + dc]  # noqa: B023

        out = codes[s0:s0 + step]
        for bit, (r_lo, r_hi, wr, c_lo, c_hi, wc) in enumerate(weights):
            top = _lerp(at(r_lo, c_lo), at(r_lo, c_hi), wc)
            values = _lerp(top, _lerp(at(r_hi, c_lo), at(r_hi, c_hi), wc), wr) if wr.any() else top
            out |= (values >= centre).astype(np.int64) << bit
    return np.moveaxis(codes, [0, 1, 2], [fixed, row_axis, col_axis])


def plane_codes(clip: np.ndarray, plane: str, params: LbpTopParams) -> np.ndarray:
    """Raw P-bit LBP code of every centre pixel on one plane: (T', H', W') int64, the centre region of `clip`.

    `clip` is (T, H, W) gray. Codes are before the u2 mapping (bit p <-> neighbour p, see module docstring).
    """
    if plane not in PLANES:
        raise ValueError(f"plane must be one of {PLANES}, got {plane!r}")
    vol = np.asarray(clip)
    if vol.ndim != 3:
        raise ValueError(f"clip must be (T, H, W) gray, got shape {vol.shape}")
    border = params.border()
    if any(n - 2 * b < 1 for n, b in zip(vol.shape, border)):
        raise ValueError(f"clip {vol.shape} too small for radii (t, y, x) = {border}: needs more than 2R per axis")
    if params.interpolation == "nearest":  # plain comparisons of samples: any real dtype, no copy
        return _codes_nearest(vol, plane, params)
    return _codes_bilinear(vol.astype(np.float64), plane, params)


# --- blocks and histograms -----------------------------------------------------------------------------------------
def block_edges(length: int, n: int, overlap: float = 0.0) -> list[tuple[int, int]]:
    """[start, stop) of `n` equal blocks covering `length` pixels, each sharing `overlap` of itself with the next.

    Block size s = length / (n - (n - 1) overlap), stride s (1 - overlap); edges rounded to pixels.
    """
    if n > length:
        raise ValueError(f"cannot cut {length} pixels into {n} blocks")
    size = length / (n - (n - 1) * overlap)
    stride = size * (1 - overlap)
    edges = []
    for k in range(n):
        start = int(round(k * stride))
        stop = length if k == n - 1 else int(round(k * stride + size))
        edges.append((start, max(stop, start + 1)))
    return edges


def block_histograms(codes: np.ndarray, bins: int, grid: tuple[int, int, int], overlap: float,
                     normalise: bool) -> np.ndarray:
    """(time_blocks, rows, cols, bins) histograms of mapped codes (T', H', W'); overlap applies to x and y."""
    t_edges = block_edges(codes.shape[0], grid[0], 0.0)
    y_edges = block_edges(codes.shape[1], grid[1], overlap)
    x_edges = block_edges(codes.shape[2], grid[2], overlap)
    out = np.zeros((grid[0], grid[1], grid[2], bins), dtype=np.float64)
    for i, (t0, t1) in enumerate(t_edges):
        for j, (y0, y1) in enumerate(y_edges):
            for k, (x0, x1) in enumerate(x_edges):
                out[i, j, k] = np.bincount(codes[t0:t1, y0:y1, x0:x1].ravel(), minlength=bins)
    if normalise:
        out /= np.maximum(out.sum(axis=-1, keepdims=True), 1.0)
    return out


def lbp_top(clip: np.ndarray, params: LbpTopParams = LbpTopParams()) -> np.ndarray:
    """The LBP-TOP feature vector of a (T, H, W) gray clip: float32 of length `params.n_features`.

    Order (Zhao's): for each time block, block row, block column: the XY, XT and YT histograms.
    """
    grid = (params.time_blocks, params.rows, params.cols)
    per_plane = []
    for plane in PLANES:
        mapped = u2_mapping(params.points(plane))[plane_codes(clip, plane, params)]
        per_plane.append(block_histograms(mapped, params.bins(plane), grid, params.overlap, params.normalise))
    return np.concatenate(per_plane, axis=-1).ravel().astype(np.float32)
