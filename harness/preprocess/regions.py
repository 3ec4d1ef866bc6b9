"""Named facial regions as MediaPipe face-mesh landmark-index sets: the ONE place they are defined.

Sides are the subject's (anatomical, as FACS writes AU regions): `*_right` is the subject's right, which is
on the image's LEFT for a frontal, non-mirrored face. Indices refer to the 478-point mesh of
`FaceMesh(refine_landmarks=True)`; the eye sets are MediaPipe's own `FACEMESH_RIGHT_EYE/LEFT_EYE` contours.
The sets were checked by drawing them on a real face (skimage's `astronaut`), and `tests/preprocess/test_preprocess_regions.py`
checks their geometry (brows above eyes above nose above mouth above chin; right side on the image left).

Geometry helpers turn a set plus landmarks (in the pixel frame of some map) into a mask, a centre or a box, so
bundles can pool or crop any per-pixel map (flow, strain, frames) by region name.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from harness.errors import BadInput

N_LANDMARKS = 478

_RIGHT_EYE = (7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246)
_LEFT_EYE = (249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466)

REGIONS: Mapping[str, tuple[int, ...]] = {
    # --- AU-based regions of interest (FACS: AU1/2 brows, AU4 inner brows, AU5/7/43 lids, AU9 nose wings,
    # AU6 cheeks, AU12/14/15 mouth corners, AU10 upper lip, AU16/25 lower lip, AU17 chin) ---
    "brow_inner_right": (107, 66, 55, 65),
    "brow_inner_left": (336, 296, 285, 295),
    "brow_outer_right": (70, 63, 46, 53),
    "brow_outer_left": (300, 293, 276, 283),
    "eyelid_upper_right": (246, 161, 160, 159, 158, 157, 173),
    "eyelid_upper_left": (466, 388, 387, 386, 385, 384, 398),
    "eyelid_lower_right": (7, 163, 144, 145, 153, 154, 155),
    "eyelid_lower_left": (249, 390, 373, 374, 380, 381, 382),
    "nose_wing_right": (48, 64, 98, 129, 49, 102),
    "nose_wing_left": (278, 294, 327, 358, 279, 331),
    "cheek_right": (50, 101, 118, 117, 123, 187, 205, 36),
    "cheek_left": (280, 330, 347, 346, 352, 411, 425, 266),
    "mouth_corner_right": (61, 185, 146, 57, 43, 76),
    "mouth_corner_left": (291, 409, 375, 287, 273, 306),
    "lip_upper": (0, 37, 39, 267, 269, 13, 82, 81, 312, 311),
    "lip_lower": (17, 84, 181, 314, 405, 14, 87, 178, 317, 402),
    "chin": (152, 175, 199, 200, 18, 171, 396, 208, 428, 148, 377),
    # --- stable region for rigid head motion (drift correction, global motion): the nose bridge below the
    # glabella (168 is left out: AU4 pulls it) down to the tip ---
    "nose_bridge": (6, 197, 195, 5, 4, 122, 351, 196, 419, 3, 248),
    # --- whole eyes and single mouth corners: HTNet's four regions and the alignment points ---
    "eye_right": _RIGHT_EYE,
    "eye_left": _LEFT_EYE,
    "mouth_right": (61,),
    "mouth_left": (291,),
    "nose_tip": (1,),
}

#: The AU regions, in the order region features are laid out (R = 17).
AU_REGIONS: tuple[str, ...] = (
    "brow_inner_right", "brow_inner_left", "brow_outer_right", "brow_outer_left",
    "eyelid_upper_right", "eyelid_upper_left", "eyelid_lower_right", "eyelid_lower_left",
    "nose_wing_right", "nose_wing_left", "cheek_right", "cheek_left",
    "mouth_corner_right", "mouth_corner_left", "lip_upper", "lip_lower", "chin",
)
#: HTNet's four regions in its tiling order: image-left eye, image-right eye, image-left mouth corner,
#: image-right mouth corner (MTCNN's left eye / right eye / mouth-left / mouth-right on a frontal face).
HTNET_REGIONS: tuple[str, ...] = ("eye_right", "eye_left", "mouth_right", "mouth_left")
#: The region whose motion is taken as rigid head motion (drift correction, global-motion subtraction).
STABLE_REGION = "nose_bridge"
#: Points the similarity alignment fits to the canonical template (see align.TEMPLATE).
ALIGN_POINTS: tuple[str, ...] = ("eye_right", "eye_left", "nose_tip", "mouth_right", "mouth_left")


def region_indices(name: str) -> tuple[int, ...]:
    """The landmark indices of a named region; unknown names get a "did you mean" error."""
    if name not in REGIONS:
        from harness.registry import suggest

        raise BadInput(suggest(name, list(REGIONS), "region"))
    return REGIONS[name]


def _check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[1] != 2 or lm.shape[0] < N_LANDMARKS - 10:
        raise BadInput(f"landmarks must be an (N>=468, 2) array of x, y pixels, got shape {lm.shape}")
    return lm


def region_points(landmarks: np.ndarray, name: str) -> np.ndarray:
    """(k, 2) x, y of a region's landmarks."""
    return _check_landmarks(landmarks)[list(region_indices(name))]


def region_centers(landmarks: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """(R, 2) mean x, y of each named region's landmarks."""
    return np.stack([region_points(landmarks, n).mean(axis=0) for n in names])


def region_masks(landmarks: np.ndarray, names: Sequence[str], shape: tuple[int, int],
                 pad: float | None = None) -> np.ndarray:
    """(R, H, W) bool: each region's convex hull dilated by `pad` pixels (default 4 % of the map side).

    The dilation matters: lids and lips are curves of landmarks whose hull is a sliver; motion around them
    is what the region stands for.
    """
    import cv2

    h, w = int(shape[0]), int(shape[1])
    pad = 0.04 * max(h, w) if pad is None else float(pad)
    r = max(int(round(pad)), 0)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)) if r else None
    out = np.zeros((len(names), h, w), dtype=np.uint8)
    for i, name in enumerate(names):
        pts = np.round(region_points(landmarks, name)).astype(np.int32)
        hull = cv2.convexHull(pts)
        cv2.fillConvexPoly(out[i], hull, 1)
        if kernel is not None:
            out[i] = cv2.dilate(out[i], kernel)
    return out.astype(bool)


def region_boxes(landmarks: np.ndarray, names: Sequence[str], shape: tuple[int, int], half: int) -> np.ndarray:
    """(R, 4) int boxes `x0, y0, x1, y1` (exclusive ends) of side 2*half centred on each region.

    A box that would leave the map is shifted inside it, never shrunk, so every patch has the same size
    (HTNet clips its centres the same way).
    """
    h, w = int(shape[0]), int(shape[1])
    half = int(half)
    if half <= 0 or 2 * half > min(h, w):
        raise BadInput(f"box half-size {half} does not fit a {h}x{w} map")
    c = np.round(region_centers(landmarks, names)).astype(int)
    cx = np.clip(c[:, 0], half, w - half)
    cy = np.clip(c[:, 1], half, h - half)
    return np.stack([cx - half, cy - half, cx + half, cy + half], axis=1)


def crop_boxes(array: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(R, h, w, ...) patches of an (H, W, ...) map cut at `boxes` from `region_boxes`."""
    return np.stack([array[y0:y1, x0:x1] for x0, y0, x1, y1 in np.asarray(boxes)])


def htnet_mosaic(array: np.ndarray, landmarks: np.ndarray, half: int | None = None) -> np.ndarray:
    """HTNet's input: the four region patches tiled 2x2 (eyes on top, mouth corners below), same size as input.

    `array` is an (S, S, C) map (e.g. u, v, strain) and `landmarks` are in its pixel frame; `half` defaults
    to S/4 so the mosaic is S x S, as HTNet's 14-pixel patches of a 28-pixel map.
    """
    h, w = array.shape[:2]
    half = min(h, w) // 4 if half is None else int(half)
    p = crop_boxes(array, region_boxes(landmarks, HTNET_REGIONS, (h, w), half))
    return np.concatenate([np.concatenate([p[0], p[1]], axis=1), np.concatenate([p[2], p[3]], axis=1)], axis=0)
