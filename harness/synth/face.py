"""A procedurally drawn face per subject: geometry, skin tone and texture, features; rendered as two layers.

Why drawn by hand: no maintained library renders parametric faces offline without model files. The drawing is
plain OpenCV (polygons, ellipses, blurs) at 4x super-sampling, then area-downsampled, which gives anti-aliased
features that a real landmark detector (mediapipe face mesh) finds.

Coordinates: pixels of the written frame (size S x S), x to the right, y down. "Subject's left" (FACS L) is the
image's right side (+x), as the face looks at the camera.

Layers: the *head* (hair, ears, face and its features) moves with head pose and facial action; the *background*
(backdrop, neck, shoulders) stays still, as a fixed camera sees it. `alpha` says where the head layer is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SS = 4  # super-sampling factor of the drawing

SIDES = {"L": 1.0, "R": -1.0}  # subject's left is image right (+x)

# Skin tones (RGB) spanning light to dark; a subject's tone is a random blend of two neighbours.
SKIN_TONES = np.array([
    (236, 200, 176), (228, 186, 156), (214, 170, 138), (198, 150, 118), (176, 128, 96),
    (150, 104, 76), (120, 82, 60), (92, 62, 46),
], dtype=np.float32)
HAIR_COLOURS = np.array([(20, 16, 14), (40, 28, 20), (70, 48, 30), (110, 78, 48), (150, 120, 80), (60, 58, 56)],
                        dtype=np.float32)
IRIS_COLOURS = np.array([(50, 32, 20), (80, 52, 30), (60, 80, 100), (70, 90, 60), (30, 22, 18)], dtype=np.float32)


@dataclass(frozen=True)
class FaceParams:
    """One subject's face. Lengths are fractions of the face width unless said otherwise; position and face
    width are fractions of the image size, so the same subject renders at any frame size."""

    cx: float            # face centre x / S
    cy: float            # face centre y / S
    width: float         # face width / S
    aspect: float        # face height / face width
    jaw: float           # 0 round .. 1 narrow lower face
    chin: float          # chin pointiness
    eye_y: float         # eye line above the face centre / face height
    eye_dx: float        # half inter-ocular distance
    eye_w: float
    eye_h: float
    brow_gap: float      # brow above eye centre
    brow_thick: float
    brow_arch: float
    brow_len: float
    nose_y: float        # nose tip below the face centre / face height
    nose_w: float
    mouth_y: float       # mouth line below the face centre / face height
    mouth_w: float
    lip_up: float
    lip_lo: float
    skin: tuple[float, float, float]
    lip: tuple[float, float, float]
    hair: tuple[float, float, float]
    brow: tuple[float, float, float]
    iris: tuple[float, float, float]
    bg0: tuple[float, float, float]
    bg1: tuple[float, float, float]
    cloth: tuple[float, float, float]
    hair_style: int      # 0 short, 1 long, 2 fringe
    hairline: float      # hairline height above the brows / face height
    texture: float       # skin texture contrast (relative)
    light: float         # light from the left (-1) .. right (+1)
    texture_seed: int


def sample_face(rng: np.random.Generator) -> FaceParams:
    """Draw a subject: every feature varies, within ranges where the face stays plausible and detectable."""
    u = rng.uniform
    i = int(rng.integers(0, len(SKIN_TONES) - 1))
    t = u(0, 1)
    skin = (1 - t) * SKIN_TONES[i] + t * SKIN_TONES[i + 1]
    lip = skin * np.array([0.86, 0.62, 0.62]) + np.array([20, 4, 8])
    hair = HAIR_COLOURS[int(rng.integers(0, len(HAIR_COLOURS)))] * u(0.85, 1.15)
    brow = hair * 0.8 + skin * 0.2 * u(0.3, 0.8)
    iris = IRIS_COLOURS[int(rng.integers(0, len(IRIS_COLOURS)))]
    g = u(90, 200)
    tint = rng.uniform(-25, 25, 3)
    bg0 = np.clip(g + tint, 30, 235)
    bg1 = np.clip(bg0 * u(0.7, 1.1), 20, 240)
    cloth = rng.uniform(20, 200, 3)

    def rgb(a) -> tuple[float, float, float]:
        return tuple(round(float(v), 2) for v in np.clip(a, 0, 255))  # type: ignore[return-value]

    return FaceParams(
        cx=round(u(0.48, 0.52), 4), cy=round(u(0.50, 0.54), 4), width=round(u(0.50, 0.57), 4),
        aspect=round(u(1.22, 1.36), 4), jaw=round(u(0.15, 0.45), 4), chin=round(u(0.2, 0.6), 4),
        eye_y=round(u(0.07, 0.11), 4), eye_dx=round(u(0.19, 0.22), 4), eye_w=round(u(0.17, 0.21), 4),
        eye_h=round(u(0.065, 0.085), 4), brow_gap=round(u(0.10, 0.13), 4), brow_thick=round(u(0.028, 0.045), 4),
        brow_arch=round(u(0.01, 0.04), 4), brow_len=round(u(0.23, 0.29), 4), nose_y=round(u(0.14, 0.18), 4),
        nose_w=round(u(0.19, 0.25), 4), mouth_y=round(u(0.29, 0.33), 4), mouth_w=round(u(0.33, 0.41), 4),
        lip_up=round(u(0.035, 0.05), 4), lip_lo=round(u(0.045, 0.065), 4),
        skin=rgb(skin), lip=rgb(lip), hair=rgb(hair), brow=rgb(brow), iris=rgb(iris), bg0=rgb(bg0),
        bg1=rgb(bg1), cloth=rgb(cloth), hair_style=int(rng.integers(0, 3)), hairline=round(u(0.16, 0.22), 4),
        texture=round(u(0.7, 1.3), 4), light=round(u(-0.8, 0.8), 4),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
    )


# ----- geometry ------------------------------------------------------------------------------------------------
def _frame(p: FaceParams, size: int) -> tuple[float, float, float, float]:
    fw = p.width * size
    return p.cx * size, p.cy * size, fw, fw * p.aspect


def landmarks(p: FaceParams, size: int) -> dict[str, np.ndarray]:
    """Named anchor points (pixels, upright canonical pose) on which action units and the renderer agree."""
    cx, cy, fw, fh = _frame(p, size)
    ey = cy - p.eye_y * fh
    by = ey - p.brow_gap * fw
    my = cy + p.mouth_y * fh
    ny = cy + p.nose_y * fh
    pts: dict[str, tuple[float, float]] = {
        "glabella": (cx, by + 0.02 * fw),
        "forehead": (cx, by - 0.12 * fw),
        "nose_root": (cx, ey),
        "nose_tip": (cx, ny),
        "upper_lip": (cx, my - p.lip_up * fw),
        "mouth": (cx, my),
        "lower_lip": (cx, my + p.lip_lo * fw),
        "chin": (cx, cy + 0.5 * fh - 0.07 * fw),
        "chin_low": (cx, cy + 0.5 * fh),
    }
    for s, sg in SIDES.items():
        ex = cx + sg * p.eye_dx * fw
        half = p.eye_w * fw / 2
        bl = p.brow_len * fw
        b_in = cx + sg * (p.eye_dx * fw - 0.5 * bl + 0.02 * fw)
        pts.update({
            f"eye_{s}": (ex, ey),
            f"eye_in_{s}": (ex - sg * half, ey),
            f"eye_out_{s}": (ex + sg * half, ey),
            f"upper_lid_{s}": (ex, ey - 0.5 * p.eye_h * fw),
            f"lower_lid_{s}": (ex, ey + 0.5 * p.eye_h * fw),
            f"brow_in_{s}": (b_in, by + 0.01 * fw),
            f"brow_mid_{s}": (b_in + sg * 0.5 * bl, by - p.brow_arch * fw),
            f"brow_out_{s}": (b_in + sg * bl, by + 0.01 * fw),
            f"cheek_{s}": (ex + sg * 0.02 * fw, ey + 0.22 * fw),
            f"nose_wing_{s}": (cx + sg * 0.5 * p.nose_w * fw, ny - 0.01 * fw),
            f"nasolabial_{s}": (cx + sg * 0.30 * fw, (ny + my) / 2),
            f"lip_corner_{s}": (cx + sg * 0.5 * p.mouth_w * fw, my),
            f"upper_lip_{s}": (cx + sg * 0.24 * p.mouth_w * fw, my - 0.8 * p.lip_up * fw),
            f"lower_lip_{s}": (cx + sg * 0.24 * p.mouth_w * fw, my + 0.8 * p.lip_lo * fw),
            f"jaw_{s}": (cx + sg * 0.36 * fw, cy + 0.38 * fh),
        })
    return {k: np.array(v, dtype=np.float64) for k, v in pts.items()}


def face_unit(p: FaceParams, size: int) -> float:
    """Face width in pixels: the unit in which action-unit field sizes are given."""
    return p.width * size


def face_box(p: FaceParams, size: int) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the face from hairline to chin, canonical pose."""
    cx, cy, fw, fh = _frame(p, size)
    return cx - fw / 2, cy - fh / 2, cx + fw / 2, cy + fh / 2


# ----- drawing -------------------------------------------------------------------------------------------------
def _poly(img: np.ndarray, pts: np.ndarray, colour, k: int = SS) -> None:
    import cv2

    cv2.fillPoly(img, [np.round(pts * k * 4).astype(np.int32)], colour, cv2.LINE_AA, shift=2)


def _ellipse(img, c, axes, angle, colour, k: int = SS, thickness: int = -1) -> None:
    import cv2

    cv2.ellipse(img, (int(round(c[0] * k * 4)), int(round(c[1] * k * 4))),
                (max(1, int(round(axes[0] * k * 4))), max(1, int(round(axes[1] * k * 4)))), angle, 0, 360, colour,
                thickness, cv2.LINE_AA, shift=2)


def _polyline(img, pts: np.ndarray, colour, width: float, k: int = SS) -> None:
    import cv2

    cv2.polylines(img, [np.round(pts * k * 4).astype(np.int32)], False, colour, max(1, int(round(width * k))),
                  cv2.LINE_AA, shift=2)


def face_outline(p: FaceParams, size: int, n: int = 72) -> np.ndarray:
    cx, cy, fw, fh = _frame(p, size)
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    s = np.sin(th)
    lower = np.clip(s, 0, 1)
    w = 1 - p.jaw * lower ** 2 * 0.55 - p.chin * lower ** 6 * 0.35
    x = cx + fw / 2 * np.cos(th) * w
    y = cy + fh / 2 * s
    return np.stack([x, y], 1)


def _eye_shape(p: FaceParams, size: int, side: str, n: int = 24) -> np.ndarray:
    lm = landmarks(p, size)
    fw = face_unit(p, size)
    c = lm[f"eye_{side}"]
    half = p.eye_w * fw / 2
    h = p.eye_h * fw / 2
    t = np.linspace(-1, 1, n)
    sg = SIDES[side]
    top = np.stack([c[0] + sg * t * half, c[1] - h * (1 - t ** 2) ** 0.8 * (1 - 0.15 * sg * t)], 1)
    bot = np.stack([c[0] + sg * t[::-1] * half, c[1] + 0.8 * h * (1 - t[::-1] ** 2) ** 1.1], 1)
    return np.concatenate([top, bot])


def _brow_shape(p: FaceParams, size: int, side: str, n: int = 16) -> np.ndarray:
    lm = landmarks(p, size)
    fw = face_unit(p, size)
    a, m, b = lm[f"brow_in_{side}"], lm[f"brow_mid_{side}"], lm[f"brow_out_{side}"]
    t = np.linspace(0, 1, n)[:, None]
    centre = (1 - t) ** 2 * a + 2 * t * (1 - t) * (2 * m - (a + b) / 2) + t ** 2 * b
    thick = p.brow_thick * fw * (1.0 - 0.55 * t[:, 0] ** 1.5)
    upper = centre - np.stack([np.zeros(n), thick * 0.6], 1)
    lower = centre + np.stack([np.zeros(n), thick * 0.4], 1)
    return np.concatenate([upper, lower[::-1]])


def _lips(p: FaceParams, size: int, n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    lm = landmarks(p, size)
    fw = face_unit(p, size)
    cx, my = lm["mouth"]
    half = p.mouth_w * fw / 2
    t = np.linspace(-1, 1, n)
    line = np.stack([cx + t * half, my + 0.004 * fw * np.cos(t * np.pi / 2)], 1)
    bow = 1 - 0.35 * np.exp(-(t / 0.12) ** 2)
    top = np.stack([cx + t * half, my - p.lip_up * fw * (1 - t ** 2) ** 0.7 * bow], 1)
    bot = np.stack([cx + t * half, my + p.lip_lo * fw * (1 - t ** 2) ** 0.8], 1)
    upper = np.concatenate([top, line[::-1]])
    lower = np.concatenate([line, bot[::-1]])
    return upper, lower


def _band_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    import cv2

    n = rng.standard_normal(shape).astype(np.float32)
    n = cv2.GaussianBlur(n, (0, 0), sigma)
    return n / (n.std() + 1e-6)


@dataclass
class FaceLayers:
    """What the renderer warps: the head layer with its alpha, the still background, and the eye openings
    (for blinks, where the lid covers the eye)."""

    head: np.ndarray        # (S, S, 3) float32 RGB 0..255, premultiplied by alpha (0 outside the head)
    alpha: np.ndarray       # (S, S) float32 0..1
    background: np.ndarray  # (S, S, 3) float32
    eyes: np.ndarray        # (S, S) float32 0..1, eye openings
    lid: np.ndarray         # (S, S, 3) float32, colour of a closed lid


def draw_layers(p: FaceParams, size: int, texture: float = 1.0) -> FaceLayers:
    """Draw the subject in canonical pose at SS x `size` pixels (drawn once per subject, placed per clip).
    `texture` scales the skin texture contrast (the corpus knob)."""
    import cv2

    k = SS
    big = size * k
    rng = np.random.Generator(np.random.PCG64(p.texture_seed))
    cx, cy, fw, fh = _frame(p, size)
    lm = landmarks(p, size)
    skin = np.array(p.skin, np.float32)

    # --- background: backdrop gradient, neck, shoulders (still) ---
    yy, xx = np.mgrid[0:big, 0:big].astype(np.float32) / big
    bg = (np.array(p.bg0, np.float32) * (1 - yy[..., None]) + np.array(p.bg1, np.float32) * yy[..., None])
    bg *= (1 + 0.04 * _band_noise(rng, (big, big), 12 * k))[..., None]
    neck = np.array([[cx - 0.23 * fw, cy + 0.2 * fh], [cx + 0.23 * fw, cy + 0.2 * fh],
                     [cx + 0.26 * fw, size * 1.05], [cx - 0.26 * fw, size * 1.05]])
    _poly(bg, neck, tuple(float(v) for v in skin * 0.78))
    sh_y = cy + 0.5 * fh + 0.12 * fw
    shoulders = np.array([[cx - 0.25 * fw, sh_y], [cx + 0.25 * fw, sh_y], [cx + 1.3 * fw, sh_y + 0.35 * fw],
                          [cx + 1.3 * fw, size * 1.1], [cx - 1.3 * fw, size * 1.1], [cx - 1.3 * fw, sh_y + 0.35 * fw]])
    _poly(bg, shoulders, p.cloth)

    # --- head layer ---
    head = np.zeros((big, big, 3), np.float32)
    mask = np.zeros((big, big), np.float32)
    hair = tuple(float(v) for v in p.hair)
    hair_axes = (fw * 0.58, fh * 0.56)
    hair_c = (cx, cy - 0.06 * fh)
    _ellipse(head, hair_c, hair_axes, 0, hair)
    _ellipse(mask, hair_c, hair_axes, 0, 1.0)
    if p.hair_style == 1:  # long hair falling beside the face
        for sg in (-1, 1):
            strand = np.array([[cx + sg * 0.42 * fw, cy - 0.2 * fh], [cx + sg * 0.6 * fw, cy - 0.1 * fh],
                               [cx + sg * 0.62 * fw, cy + 0.42 * fh], [cx + sg * 0.4 * fw, cy + 0.4 * fh]])
            _poly(head, strand, hair)
            _poly(mask, strand, 1.0)
    for sg in (-1, 1):  # ears
        ec = (cx + sg * 0.5 * fw, cy - 0.01 * fh)
        _ellipse(head, ec, (0.07 * fw, 0.13 * fw), 0, tuple(float(v) for v in skin * 0.9))
        _ellipse(mask, ec, (0.07 * fw, 0.13 * fw), 0, 1.0)
    outline = face_outline(p, size)
    face_mask = np.zeros((big, big), np.float32)
    _poly(face_mask, outline, 1.0)
    _poly(mask, outline, 1.0)
    head = head * (1 - face_mask[..., None]) + skin * face_mask[..., None]

    # shading: darker towards the face edge, side light, socket and nose shadows
    fm8 = (face_mask > 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(fm8, cv2.DIST_L2, 5) / (0.22 * fw * k)
    shade = 1 - 0.28 * (1 - np.clip(dist, 0, 1)) ** 2
    shade *= 1 + 0.10 * p.light * (xx * big / k - cx) / fw
    shadow = np.zeros((big, big), np.float32)
    for s in SIDES:
        e = lm[f"eye_{s}"]
        _ellipse(shadow, (e[0], e[1] - 0.03 * fw), (p.eye_w * fw * 0.75, p.eye_h * fw * 1.6), 0, 1.0)
        _ellipse(shadow, lm[f"nasolabial_{s}"] + np.array([SIDES[s] * 0.02 * fw, 0]), (0.015 * fw, 0.08 * fw),
                 SIDES[s] * -25, 0.8)
    nose_side = -1.0 if p.light >= 0 else 1.0
    ridge = np.array([[cx + nose_side * 0.045 * fw, lm["nose_root"][1] + 0.03 * fw],
                      [cx + nose_side * 0.07 * fw, lm["nose_tip"][1] - 0.03 * fw]])
    _polyline(shadow, ridge, 0.9, 0.04 * fw)
    _ellipse(shadow, (cx, lm["nose_tip"][1] + 0.045 * fw), (0.12 * fw, 0.025 * fw), 0, 0.8)
    _ellipse(shadow, (cx, lm["lower_lip"][1] + 0.05 * fw), (0.12 * fw, 0.02 * fw), 0, 0.5)
    shadow = cv2.GaussianBlur(shadow, (0, 0), 0.035 * fw * k)
    light = np.zeros((big, big), np.float32)
    _ellipse(light, (cx, lm["nose_tip"][1] - 0.03 * fw), (0.035 * fw, 0.05 * fw), 0, 1.0)
    _ellipse(light, (cx, lm["forehead"][1]), (0.2 * fw, 0.07 * fw), 0, 0.6)
    light = cv2.GaussianBlur(light, (0, 0), 0.03 * fw * k)
    shade = shade * (1 - 0.22 * shadow) * (1 + 0.10 * light)
    head *= (1 - face_mask[..., None] * (1 - shade[..., None]))

    # skin texture: pores and mottling, multiplicative, at three scales
    tex = (0.5 * _band_noise(rng, (big, big), 0.6 * k) + 0.35 * _band_noise(rng, (big, big), 1.6 * k)
           + 0.4 * _band_noise(rng, (big, big), 5 * k))
    head *= (1 + 0.035 * texture * p.texture * tex * face_mask)[..., None]

    # nose: nostrils and alar creases
    dark = tuple(float(v) for v in skin * 0.45)
    for s, sg in SIDES.items():
        w = lm[f"nose_wing_{s}"]
        _ellipse(head, (cx + sg * 0.05 * fw, w[1] + 0.012 * fw), (0.03 * fw, 0.014 * fw), sg * 15, dark)
        crease = np.array([[w[0] - sg * 0.01 * fw, w[1] - 0.05 * fw], [w[0] + sg * 0.012 * fw, w[1] - 0.01 * fw],
                           [w[0] - sg * 0.01 * fw, w[1] + 0.025 * fw]])
        _polyline(head, crease, tuple(float(v) for v in skin * 0.7), 0.012 * fw)

    # lips
    upper, lower = _lips(p, size)
    _poly(head, upper, tuple(float(v) for v in np.array(p.lip) * 0.88))
    _poly(head, lower, p.lip)
    _polyline(head, np.stack([np.linspace(lm["lip_corner_R"][0], lm["lip_corner_L"][0], 20),
                              np.full(20, lm["mouth"][1])], 1), tuple(float(v) for v in np.array(p.lip) * 0.45),
              0.012 * fw)

    # eyes
    eyes = np.zeros((big, big), np.float32)
    for s in SIDES:
        shape = _eye_shape(p, size, s)
        e = lm[f"eye_{s}"]
        sclera = np.zeros((big, big), np.float32)
        _poly(sclera, shape, 1.0)
        eyes = np.maximum(eyes, sclera)
        # sclera in shadow of the lids (a camera at 128 px never sees a paper-white eye), modest catchlight
        white = tuple(float(v) for v in 0.55 * np.array([228, 222, 216]) + 0.45 * skin)
        ball = np.full((big, big, 3), white, np.float32)
        r = p.eye_h * fw * 0.62
        _ellipse(ball, e, (r, r), 0, p.iris)
        _ellipse(ball, e, (r * 0.45, r * 0.45), 0, tuple(float(v) for v in np.array(p.iris) * 0.45))
        _ellipse(ball, e + np.array([0.3 * r, -0.35 * r]), (r * 0.14, r * 0.14), 0,
                 tuple(float(v) for v in 0.5 * np.array(white) + 90))
        head = head * (1 - sclera[..., None]) + ball * sclera[..., None]
        top = shape[: len(shape) // 2]
        _polyline(head, top, (25, 18, 16), 0.022 * fw)
        _polyline(head, top - np.array([0, 0.035 * fw]), tuple(float(v) for v in skin * 0.72), 0.01 * fw)
        _polyline(head, shape[len(shape) // 2:], tuple(float(v) for v in skin * 0.7), 0.008 * fw)
        _poly(head, _brow_shape(p, size, s), p.brow)

    # hairline over the forehead
    top_y = lm["brow_mid_L"][1] - p.hairline * fh
    fringe = np.concatenate([
        np.stack([cx + np.linspace(-0.62, 0.62, 20) * fw,
                  top_y + (0.06 if p.hair_style == 2 else 0.0) * fh
                  - 0.05 * fh * np.cos(np.linspace(-1.3, 1.3, 20)) ** 2], 1),
        np.array([[cx + 0.62 * fw, cy - 0.7 * fh], [cx - 0.62 * fw, cy - 0.7 * fh]])])
    inside = np.zeros((big, big), np.float32)
    _ellipse(inside, hair_c, hair_axes, 0, 1.0)
    hair_cap = np.zeros((big, big), np.float32)
    _poly(hair_cap, fringe, 1.0)
    hair_cap = np.minimum(hair_cap, inside)
    hair_tex = 1 + 0.08 * _band_noise(rng, (big, big), 1.0 * k)
    head = head * (1 - hair_cap[..., None]) + np.array(p.hair, np.float32) * hair_tex[..., None] * hair_cap[..., None]

    lid = np.broadcast_to(skin * 0.82, head.shape).astype(np.float32)
    return FaceLayers(head=head, alpha=np.clip(mask, 0, 1), background=bg, eyes=np.clip(eyes, 0, 1), lid=lid)


def place(big: FaceLayers, size: int, pose: np.ndarray | None = None) -> FaceLayers:
    """Put the head where a clip has it (`pose`, 2x3 in frame pixels; the background stays) and downsample the
    SS-times drawing to `size` by area averaging (anti-aliasing)."""
    import cv2

    k = SS
    n = size * k
    layers = [big.head, big.alpha, big.eyes, big.lid]
    if pose is not None:
        m = np.asarray(pose, np.float64).copy()
        m[:, 2] *= k  # same transform in drawing pixels
        layers = [cv2.warpAffine(a, m, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
                  for a in layers]
    head, alpha, eyes, lid = (cv2.resize(a, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
                              for a in layers)
    bg = cv2.resize(big.background, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    return FaceLayers(head=head, alpha=np.clip(alpha, 0, 1), background=bg, eyes=np.clip(eyes, 0, 1), lid=lid)


def render_layers(p: FaceParams, size: int, pose: np.ndarray | None = None) -> FaceLayers:
    """Draw and place in one call (tests, previews)."""
    return place(draw_layers(p, size), size, pose)


def composite(layers: FaceLayers) -> np.ndarray:
    """The still neutral frame as uint8 RGB (no noise, no flicker)."""
    img = layers.background * (1 - layers.alpha[..., None]) + layers.head
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
